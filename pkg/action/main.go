package action

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
)

// StopGrace is how long a run may take to return after the first SIGINT or
// SIGTERM. The runner kills a step 10 s after it signals it (7.5 s for a
// cancelled job), so the action gives up well before that.
const StopGrace = 5 * time.Second

// ExitError asks for a specific exit code: scan uses 2 for "the
// vulnerability database could not be read", distinct from "findings above
// the threshold" (1).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// RunFunc is an action's body. It gets a context that is cancelled on
// SIGINT/SIGTERM and returns when it is done or the context ends.
type RunFunc func(ctx context.Context, a *Action) error

// Main runs an action as a process: it builds the Action from os.Args and the
// environment, runs fn with a signal-aware context, and exits. Every main
// is this one line: action.Main(spec, run).
func Main(spec *Spec, fn RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Run(ctx, spec, fn, StopGrace, WithArgs(os.Args[1:])))
}

// Run is Main without the process: it returns the exit code. Once ctx is
// done, fn has grace to return before Run reports that it did not stop and
// returns 1 without waiting further. A panic in fn becomes one error
// annotation and exit code 1.
func Run(ctx context.Context, spec *Spec, fn RunFunc, grace time.Duration, opts ...Option) int {
	a, err := New(spec, opts...)
	if errors.Is(err, flag.ErrHelp) {
		o, _ := makeOptions(opts)
		spec.WriteHelp(o.stdout)
		return 0
	}
	if err != nil {
		o, oerr := makeOptions(opts)
		if oerr != nil {
			panic(oerr)
		}
		// Report through a bare Action so the error reads the same as any
		// other: one annotation, exit 1.
		(&Action{spec: spec, stdout: o.stdout, stderr: o.stderr, getenv: o.getenv}).fatal(err)
		return 1
	}

	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				a.Debugf("%s", debug.Stack())
				done <- fmt.Errorf("internal error (please report it): %v", r)
			}
		}()
		done <- fn(ctx, a)
	}()

	select {
	case err = <-done:
	case <-ctx.Done():
		select {
		case err = <-done:
		case <-time.After(grace):
			err = fmt.Errorf("interrupted, and did not stop within %s", grace)
		}
	}
	if err == nil {
		return 0
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = fmt.Errorf("interrupted: %w", err)
	}
	return a.fatal(err)
}

// fatal reports err as one error annotation and returns its exit code.
func (a *Action) fatal(err error) int {
	title := a.spec.Name + " failed"
	var inErr *InputError
	var useErr *UsageError
	switch {
	case errors.As(err, &inErr):
		title = "invalid input"
	case errors.As(err, &useErr):
		title = "invalid command line"
	}
	if a.gha == nil {
		a.inActions = a.getenv("GITHUB_ACTIONS") == "true"
		a.gha = newGHA(a)
	}
	a.Errorf(title, "%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	var exit *ExitError
	if errors.As(err, &exit) && exit.Code != 0 {
		return exit.Code
	}
	return 1
}
