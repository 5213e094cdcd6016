// Package action is the runtime every deploy-actions binary shares: typed
// inputs read once from the GitHub Actions environment or from CLI flags,
// outputs written safely, step summaries, annotations, log groups, masking,
// and a Main that turns signals, panics and errors into one annotation and an
// exit code.
//
// It sits on github.com/sethvargo/go-githubactions, always through
// githubactions.New with an injected getenv and writer, never through its
// package-level helpers, so an action is testable without a runner.
package action

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/sethvargo/go-githubactions"
)

// Action is one run of an action: its declaration, where its inputs come
// from and where its outputs, logs and summary go.
type Action struct {
	spec   *Spec
	gha    *githubactions.Action
	getenv func(string) string
	stdout io.Writer // outputs in CLI mode; everything in Actions mode
	stderr io.Writer
	flags  map[string]string
	// inActions is true under a GitHub Actions runner (GITHUB_ACTIONS=true):
	// workflow commands go to stdout. Outside it, logs and annotations go to
	// stderr in plain words and stdout carries only outputs.
	inActions bool

	// The runner context, read once by Context: several input groups ask
	// for it, and it parses the event file, which can be large.
	ctxOnce sync.Once
	ctx     *githubactions.GitHubContext
	ctxErr  error
}

// Option configures New.
type Option func(*options) error

type options struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	args   []string
}

// WithGetenv sets the environment lookup (default os.Getenv).
func WithGetenv(f func(string) string) Option {
	return func(o *options) error {
		if f == nil {
			return errors.New("nil getenv")
		}
		o.getenv = f
		return nil
	}
}

// WithStdout sets where outputs (CLI mode) and workflow commands go.
func WithStdout(w io.Writer) Option {
	return func(o *options) error { o.stdout = w; return nil }
}

// WithStderr sets where logs go in CLI mode.
func WithStderr(w io.Writer) Option {
	return func(o *options) error { o.stderr = w; return nil }
}

// WithArgs sets the command-line arguments (without the program name).
func WithArgs(args []string) Option {
	return func(o *options) error { o.args = args; return nil }
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{getenv: os.Getenv, stdout: os.Stdout, stderr: os.Stderr}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if o.stdout == nil || o.stderr == nil {
		return nil, errors.New("nil writer")
	}
	return o, nil
}

// New makes an Action for spec. It reads the command-line flags (which
// mirror the inputs, --name value) and masks every sensitive input before it
// returns, so nothing printed later can reveal one. It returns flag.ErrHelp
// for --help.
func New(spec *Spec, opts ...Option) (*Action, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	a := &Action{
		spec:      spec,
		getenv:    o.getenv,
		stdout:    &lockedWriter{w: o.stdout},
		stderr:    &lockedWriter{w: o.stderr},
		inActions: o.getenv("GITHUB_ACTIONS") == "true",
	}
	a.gha = newGHA(a)
	if a.flags, err = parseFlags(spec, o.args, o.stderr); err != nil {
		return nil, err
	}
	for _, in := range spec.Inputs {
		if in.Sensitive {
			a.Mask(a.raw(in.Name))
		}
	}
	return a, nil
}

// parseFlags reads --name value / --name=value for each declared input. Bool
// inputs may be given alone (--push means --push=true).
func parseFlags(spec *Spec, args []string, stderr io.Writer) (map[string]string, error) {
	fs := flag.NewFlagSet(spec.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	set := map[string]string{}
	for _, in := range spec.Inputs {
		fs.Var(&flagValue{name: in.Name, set: set, isBool: in.Kind == KindBool}, in.Name, in.Description)
	}
	if err := fs.Parse(joinBoolValues(spec, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, &UsageError{Err: err}
	}
	if fs.NArg() > 0 {
		return nil, &UsageError{Err: fmt.Errorf("unexpected argument %q (inputs are given as --name value)", fs.Arg(0))}
	}
	return set, nil
}

// joinBoolValues turns "--push false" into "--push=false" for bool inputs,
// so every input takes "--name value" alike; the flag package would read
// "false" as a stray argument.
func joinBoolValues(spec *Spec, args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			return append(out, args[i:]...)
		}
		name := strings.TrimLeft(arg, "-")
		if in, ok := spec.Input(name); ok && in.Kind == KindBool && name != arg && i+1 < len(args) {
			if _, err := ParseBool(args[i+1]); err == nil {
				arg += "=" + args[i+1]
				i++
			}
		}
		out = append(out, arg)
	}
	return out
}

type flagValue struct {
	name   string
	set    map[string]string
	isBool bool
}

func (f *flagValue) String() string   { return "" }
func (f *flagValue) IsBoolFlag() bool { return f.isBool }
func (f *flagValue) Set(v string) error {
	f.set[f.name] = v
	return nil
}

// UsageError is a malformed command line.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return "usage: " + e.Err.Error() + " (see --help)" }
func (e *UsageError) Unwrap() error { return e.Err }

// Spec returns the action's declaration.
func (a *Action) Spec() *Spec { return a.spec }

// InActions reports whether the action runs under a GitHub Actions runner.
func (a *Action) InActions() bool { return a.inActions }

// Getenv reads the runner's context variables (GITHUB_REF, GITHUB_SHA, ...)
// through the injected lookup. Inputs are read with Inputs, not with this.
func (a *Action) Getenv(key string) string { return a.getenv(key) }

// Context is the runner's context (GITHUB_REPOSITORY, GITHUB_SHA,
// GITHUB_RUN_ID, GITHUB_API_URL, ...), typed, read through the injected
// lookup. It is read once, the event file included, and shared: callers
// must not change it. An error names a variable that does not parse, or an
// event file that cannot be read; the context is never nil.
func (a *Action) Context() (*githubactions.GitHubContext, error) {
	a.ctxOnce.Do(func() {
		a.ctx, a.ctxErr = a.gha.Context()
		if a.ctx == nil {
			a.ctx = &githubactions.GitHubContext{}
		}
		if a.ctxErr != nil {
			a.ctxErr = fmt.Errorf("reading the runner context: %w", a.ctxErr)
		}
	})
	return a.ctx, a.ctxErr
}

// GetIDToken asks the Actions runtime for an OIDC token for audience (the
// job needs permissions: id-token: write).
func (a *Action) GetIDToken(ctx context.Context, audience string) (string, error) {
	return a.gha.GetIDToken(ctx, audience)
}

// raw is an input's text: the flag if given, else INPUT_<NAME> as the runner
// sets it (hyphens kept; an underscore spelling is accepted too), else the
// declared default. Like the Actions toolkit it trims surrounding space.
func (a *Action) raw(name string) string {
	if v, ok := a.flags[name]; ok {
		return strings.TrimSpace(v)
	}
	key := "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, " ", "_"))
	v := a.getenv(key)
	if v == "" {
		v = a.getenv(strings.ReplaceAll(key, "-", "_"))
	}
	if v = strings.TrimSpace(v); v != "" {
		return v
	}
	in, _ := a.spec.Input(name)
	return in.Default
}

// lockedWriter lets library callbacks log from several goroutines at once
// without interleaving their lines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (a *Action) logWriter() io.Writer {
	if a.inActions {
		return a.stdout
	}
	return a.stderr
}

func newGHA(a *Action) *githubactions.Action {
	return githubactions.New(githubactions.WithGetenv(a.getenv), githubactions.WithWriter(a.logWriter()))
}
