// Package actiontest runs an action as a GitHub Actions runner would, without
// one: inputs in INPUT_* variables, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY
// files in a temporary directory, and the log captured, so tests can assert
// on outputs, annotations and the summary exactly as the runner reads them.
package actiontest

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/action"
)

// Runner is one simulated step.
type Runner struct {
	t    testing.TB
	Env  map[string]string
	Args []string
	Log  bytes.Buffer // stdout: workflow commands and log lines
	dir  string
}

// New makes a step with the given inputs (input name -> value).
func New(t testing.TB, inputs map[string]string) *Runner {
	t.Helper()
	dir := t.TempDir()
	r := &Runner{t: t, dir: dir, Env: map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
		"GITHUB_ENV":          filepath.Join(dir, "env"),
		"GITHUB_STATE":        filepath.Join(dir, "state"),
		"RUNNER_TEMP":         dir,
	}}
	for k, v := range inputs {
		r.Env["INPUT_"+strings.ToUpper(k)] = v
	}
	return r
}

// Getenv looks a variable up in the step's environment.
func (r *Runner) Getenv(k string) string { return r.Env[k] }

// Run runs fn as action.Run would and returns the exit code.
func (r *Runner) Run(ctx context.Context, spec *action.Spec, fn action.RunFunc) int {
	var stderr bytes.Buffer
	code := action.Run(ctx, spec, fn, 2*time.Second,
		action.WithGetenv(r.Getenv), action.WithStdout(&r.Log), action.WithStderr(&stderr), action.WithArgs(r.Args))
	if stderr.Len() > 0 {
		r.t.Logf("stderr: %s", stderr.String())
	}
	return code
}

// Outputs reads GITHUB_OUTPUT as the runner would.
func (r *Runner) Outputs() map[string]string {
	r.t.Helper()
	return r.readFileCommands("GITHUB_OUTPUT")
}

func (r *Runner) readFileCommands(key string) map[string]string {
	r.t.Helper()
	f, err := os.Open(r.Env[key])
	if os.IsNotExist(err) {
		return map[string]string{}
	}
	if err != nil {
		r.t.Fatal(err)
	}
	defer f.Close()
	m, err := action.ReadFileCommands(f)
	if err != nil {
		r.t.Fatalf("reading %s: %v", key, err)
	}
	return m
}

// Summary returns the step summary written so far.
func (r *Runner) Summary() string {
	b, err := os.ReadFile(r.Env["GITHUB_STEP_SUMMARY"])
	if err != nil && !os.IsNotExist(err) {
		r.t.Fatal(err)
	}
	return string(b)
}

// Annotations returns the messages of the workflow commands of one level
// ("error", "warning", "notice", "add-mask") in the log, unescaped.
func (r *Runner) Annotations(level string) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(r.Log.Bytes()))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "::"+level) {
			continue
		}
		rest := strings.TrimPrefix(line, "::"+level)
		if rest != "" && rest[0] != ' ' && rest[0] != ':' {
			continue
		}
		if i := strings.Index(rest, "::"); i >= 0 {
			out = append(out, unescape(rest[i+2:]))
		}
	}
	return out
}

func unescape(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(s)
}
