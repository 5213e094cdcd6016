package action

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/sethvargo/go-githubactions"
)

// SetOutputs writes outputs given as name, value pairs, in order (as
// strings.NewReplacer takes its pairs). Every output is attempted; the
// errors are joined.
func (a *Action) SetOutputs(nameValue ...string) error {
	if len(nameValue)%2 != 0 {
		return fmt.Errorf("SetOutputs: %d arguments, want name, value pairs", len(nameValue))
	}
	var errs []error
	for i := 0; i < len(nameValue); i += 2 {
		errs = append(errs, a.SetOutput(nameValue[i], nameValue[i+1]))
	}
	return errors.Join(errs...)
}

// SetOutput writes an output. Under a runner it goes to $GITHUB_OUTPUT in
// heredoc form with a random delimiter; in CLI mode it is printed on stdout
// as name=value (a multi-line value as a heredoc, so it reads back the same).
func (a *Action) SetOutput(name, value string) error {
	if !a.declaredOutput(name) {
		return fmt.Errorf("output %q is not declared by %s", name, a.spec.Name)
	}
	if path := a.getenv("GITHUB_OUTPUT"); path != "" {
		return writeFileCommand(path, name, value)
	}
	if !strings.ContainsAny(value, "\r\n") {
		_, err := fmt.Fprintf(a.stdout, "%s=%s\n", name, value)
		return err
	}
	entry, err := heredoc(name, value)
	if err != nil {
		return err
	}
	_, err = io.WriteString(a.stdout, entry)
	return err
}

// SetEnv exports a variable to later steps through $GITHUB_ENV. Outside a
// runner there are no later steps and it does nothing.
func (a *Action) SetEnv(name, value string) error {
	if path := a.getenv("GITHUB_ENV"); path != "" {
		return writeFileCommand(path, name, value)
	}
	return nil
}

// SaveState records a value for the action's post step through
// $GITHUB_STATE. Outside a runner it does nothing.
func (a *Action) SaveState(name, value string) error {
	if path := a.getenv("GITHUB_STATE"); path != "" {
		return writeFileCommand(path, name, value)
	}
	return nil
}

func (a *Action) declaredOutput(name string) bool {
	for _, o := range a.spec.Outputs {
		if o.Name == name {
			return true
		}
	}
	return false
}

// AddSummary appends markdown to the step summary ($GITHUB_STEP_SUMMARY).
// Without one (CLI mode) the summary is dropped: set GITHUB_STEP_SUMMARY to
// a file to keep it.
func (a *Action) AddSummary(markdown string) error {
	path := a.getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
	if !strings.HasSuffix(markdown, "\n") {
		markdown += "\n"
	}
	return appendFile(path, markdown)
}

// Mask hides a secret in the runner's log from here on. A multi-line secret
// (a PEM key, a kubeconfig) is masked line by line, since the runner masks
// per line of output. Outside a runner it does nothing: printing
// ::add-mask:: on a terminal would show the secret.
func (a *Action) Mask(secret string) {
	if !a.inActions || strings.TrimSpace(secret) == "" {
		return
	}
	a.gha.AddMask(secret)
	if !strings.ContainsAny(secret, "\r\n") {
		return
	}
	for _, line := range strings.FieldsFunc(secret, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if line = strings.TrimSpace(line); len(line) > 3 {
			a.gha.AddMask(line)
		}
	}
}

// Infof logs a line.
func (a *Action) Infof(format string, args ...any) {
	fmt.Fprintf(a.logWriter(), format+"\n", args...)
}

// Debugf logs a line shown only when step debug logging is on (CLI mode:
// when RUNNER_DEBUG=1).
func (a *Action) Debugf(format string, args ...any) {
	if a.inActions {
		a.gha.Debugf(format, args...)
		return
	}
	if a.getenv("RUNNER_DEBUG") == "1" {
		a.Infof("debug: "+format, args...)
	}
}

// Errorf writes an error annotation with a title.
func (a *Action) Errorf(title, format string, args ...any) {
	a.annotate("error", title, format, args...)
}

// Warningf writes a warning annotation with a title.
func (a *Action) Warningf(title, format string, args ...any) {
	a.annotate("warning", title, format, args...)
}

// Noticef writes a notice annotation with a title.
func (a *Action) Noticef(title, format string, args ...any) {
	a.annotate("notice", title, format, args...)
}

func (a *Action) annotate(level, title, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if !a.inActions {
		if title != "" {
			msg = title + ": " + msg
		}
		fmt.Fprintf(a.stderr, "%s: %s\n", level, msg)
		return
	}
	cmd := &githubactions.Command{Name: level, Message: msg}
	if title != "" {
		cmd.Properties = githubactions.CommandProperties{"title": title}
	}
	a.gha.IssueCommand(cmd)
}

// Group starts a collapsible log group; EndGroup closes it.
func (a *Action) Group(title string) {
	if a.inActions {
		a.gha.Group(title)
		return
	}
	fmt.Fprintf(a.stderr, "== %s\n", title)
}

// EndGroup closes the group Group opened.
func (a *Action) EndGroup() {
	if a.inActions {
		a.gha.EndGroup()
	}
}

// DebugLog is a slog handler for libraries that log through slog (Helm):
// each record becomes one debug line, prefixed with prefix ("helm").
func (a *Action) DebugLog(prefix string) slog.Handler {
	return slog.NewTextHandler(debugWriter{a: a, prefix: prefix}, nil)
}

// debugWriter sends each line written to it to the debug log.
type debugWriter struct {
	a      *Action
	prefix string
}

func (w debugWriter) Write(p []byte) (int, error) {
	for line := range strings.SplitSeq(strings.TrimRight(string(p), "\n"), "\n") {
		w.a.Debugf("%s: %s", w.prefix, line)
	}
	return len(p), nil
}
