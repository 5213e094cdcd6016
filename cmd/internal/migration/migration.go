// Package migration is what the actions that run a migration Job share
// (migrate before a release, rollback's down migration): reading the
// command input, the Job's log in a log group, and its step summary.
package migration

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/migrate"
	"github.com/fxplatform/deploy-actions/pkg/report"
)

// ParseCommand reads a command input: a JSON array of words, or words
// separated by spaces. Quotes in the second form are refused: they are
// not shell quoting here, and the user meant them to be.
func ParseCommand(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	var words []string
	if strings.HasPrefix(s, "[") {
		if err := json.Unmarshal([]byte(s), &words); err != nil {
			return nil, fmt.Errorf("not a JSON array of strings: %v", err)
		}
	} else {
		if strings.ContainsAny(s, `"'`) {
			return nil, errors.New("quotes are not shell quoting here: for words with spaces, give a JSON array of words")
		}
		words = strings.Fields(s)
	}
	if len(words) == 0 || words[0] == "" {
		return nil, errors.New("no command")
	}
	return words, nil
}

// Result is the word for what a run did: migrated, already-applied or
// failed.
func Result(res *migrate.Result, err error) string {
	switch {
	case err != nil:
		return "failed"
	case res.Reused:
		return "already-applied"
	}
	return "migrated"
}

// Log prints the Job's log in a log group.
func Log(a *action.Action, res *migrate.Result) {
	if res.Logs == "" {
		return
	}
	a.Group("migration log: Job " + res.Job)
	for line := range strings.Lines(res.Logs) {
		a.Infof("%s", strings.TrimRight(line, "\n"))
	}
	a.EndGroup()
}

// summaryLogLines is how much of the log the step summary shows.
const summaryLogLines = 40

// Summary is the step summary of a run: title, the Job, its result, image,
// command, pod and duration, and the end of its log.
func Summary(title string, s migrate.Spec, res *migrate.Result, result, pod string) string {
	rows := [][]string{
		{"Job", report.Code(s.Namespace + "/" + res.Job)}, {"result", result}, {"image", report.Code(s.Image)},
		{"command", report.Code(strings.Join(s.Command, " "))}, {"pod", pod}, {"duration", res.Duration.Round(time.Millisecond).String()},
	}
	if res.Reason != "" {
		rows = append(rows, []string{"reason", res.Reason})
	}
	var b strings.Builder
	b.WriteString("### " + title + ": " + result + "\n\n" + report.Table([]string{"", ""}, rows) + "\n")
	if res.Logs != "" {
		lines := strings.Split(strings.TrimRight(res.Logs, "\n"), "\n")
		if len(lines) > summaryLogLines {
			fmt.Fprintf(&b, "The last %d of %d lines of the log:\n\n", summaryLogLines, len(lines))
			lines = lines[len(lines)-summaryLogLines:]
		}
		fence := "```"
		for strings.Contains(res.Logs, fence) {
			fence += "`"
		}
		b.WriteString(fence + "text\n" + strings.Join(lines, "\n") + "\n" + fence + "\n")
	}
	return b.String()
}
