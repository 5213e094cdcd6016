package action_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
)

var testSpec = &action.Spec{
	Name: "demo",
	Inputs: []action.Input{
		{Name: "image", Required: true, Kind: action.KindImage, Description: "repository"},
		{Name: "push", Default: "true", Kind: action.KindBool, Description: "push or not"},
		{Name: "load-requests", Default: "1000", Kind: action.KindInt, Description: "requests"},
		{Name: "timeout", Default: "5m", Kind: action.KindDuration, Description: "timeout"},
		{Name: "max-error-rate", Default: "0.1%", Kind: action.KindPercent, Description: "errors"},
		{Name: "steps", Default: "10,25,50,100", Kind: action.KindList, Description: "steps"},
		{Name: "strategy", Default: "blue-green", Kind: action.KindEnum, Allowed: []string{"blue-green", "canary"}, Description: "strategy"},
		{Name: "labels", Kind: action.KindMap, Description: "labels"},
		{Name: "registry-password", Sensitive: true, Description: "password"},
		{Name: "value", Description: "echoed to the output"},
		{Name: "environment-url", Description: "a URL"},
	},
	Outputs: []action.Output{{Name: "echo", Description: "the value input"}, {Name: "digest", Description: "a digest"}},
}

type parsed struct {
	image    string
	push     bool
	requests int
	timeout  time.Duration
	rate     float64
	steps    []int
	strategy string
	labels   []action.KeyValue
	url      string
}

func parse(a *action.Action) (parsed, error) {
	in := a.Inputs()
	p := parsed{
		image:    in.Repository("image").String(),
		push:     in.Bool("push"),
		requests: in.Int("load-requests", 0, 1_000_000),
		timeout:  in.Duration("timeout"),
		rate:     in.Percent("max-error-rate"),
		steps:    in.Steps("steps"),
		strategy: in.Enum("strategy"),
		labels:   in.KeyValues("labels"),
		url:      in.HTTPURL("environment-url"),
	}
	return p, in.Err()
}

func TestInputsErrors(t *testing.T) {
	tests := []struct {
		name   string
		inputs map[string]string
		want   string // the one error annotation
	}{
		{name: "missing required", inputs: map[string]string{}, want: `input "image": is required`},
		{name: "tagged repository", inputs: map[string]string{"image": "ghcr.io/a/b:v1"}, want: `input "image": "ghcr.io/a/b:v1" names a tag or digest`},
		{name: "bad bool", inputs: map[string]string{"image": "ghcr.io/a/b", "push": "yes"}, want: `input "push": "yes" is not a boolean (allowed: true, false)`},
		{name: "int range", inputs: map[string]string{"image": "ghcr.io/a/b", "load-requests": "-5"}, want: `input "load-requests": -5 is below 0`},
		{name: "duration", inputs: map[string]string{"image": "ghcr.io/a/b", "timeout": "5x"}, want: `input "timeout": "5x" is not a duration`},
		{name: "percent", inputs: map[string]string{"image": "ghcr.io/a/b", "max-error-rate": "120%"}, want: `input "max-error-rate": 120% is above 100%`},
		{name: "steps", inputs: map[string]string{"image": "ghcr.io/a/b", "steps": "10,110"}, want: `input "steps": 110 is above 100`},
		{name: "enum", inputs: map[string]string{"image": "ghcr.io/a/b", "strategy": "linear"}, want: `input "strategy": "linear" is not allowed (allowed: blue-green, canary)`},
		{name: "map", inputs: map[string]string{"image": "ghcr.io/a/b", "labels": "novalue"}, want: `input "labels": line 1: "novalue" is not KEY=VALUE`},
		{name: "url without a scheme", inputs: map[string]string{"image": "ghcr.io/a/b", "environment-url": "fx.example.com"}, want: `input "environment-url": "fx.example.com" is not an http(s) URL`},
		{name: "url of another scheme", inputs: map[string]string{"image": "ghcr.io/a/b", "environment-url": "ftp://fx.example.com"}, want: `input "environment-url": "ftp://fx.example.com" is not an http(s) URL`},
		{name: "two at once", inputs: map[string]string{"image": "ghcr.io/a/b", "push": "1", "timeout": "x"}, want: `input "push": "1" is not a boolean (allowed: true, false); input "timeout": "x" is not a duration`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := actiontest.New(t, tc.inputs)
			ran := false
			code := r.Run(context.Background(), testSpec, func(ctx context.Context, a *action.Action) error {
				_, err := parse(a)
				if err != nil {
					return err
				}
				ran = true
				return nil
			})
			if code != 1 || ran {
				t.Fatalf("exit code %d, ran past parsing %v; want 1, false", code, ran)
			}
			errs := r.Annotations("error")
			if len(errs) != 1 || !strings.Contains(errs[0], tc.want) {
				t.Fatalf("error annotations = %q, want one containing %q", errs, tc.want)
			}
			if !strings.Contains(r.Log.String(), "::error title=invalid input::") {
				t.Errorf("annotation has no 'invalid input' title: %s", r.Log.String())
			}
		})
	}
}

func TestInputsDefaultsAndValues(t *testing.T) {
	r := actiontest.New(t, map[string]string{"image": " ghcr.io/a/b\n", "labels": "a=1\nb=x=y", "strategy": "canary"})
	var got parsed
	code := r.Run(context.Background(), testSpec, func(ctx context.Context, a *action.Action) (err error) {
		got, err = parse(a)
		return err
	})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, r.Log.String())
	}
	want := parsed{image: "ghcr.io/a/b", push: true, requests: 1000, timeout: 5 * time.Minute, rate: 0.001,
		steps: []int{10, 25, 50, 100}, strategy: "canary", labels: []action.KeyValue{{Key: "a", Value: "1"}, {Key: "b", Value: "x=y"}}}
	if got.image != want.image || got.push != want.push || got.requests != want.requests || got.timeout != want.timeout ||
		got.rate != want.rate || len(got.steps) != 4 || got.strategy != want.strategy || len(got.labels) != 2 || got.labels[1] != want.labels[1] {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// A value crafted to close a heredoc and add a key of its own must come back
// as exactly one output, byte for byte (the CVE-2022-35954 bug class).
func TestOutputInjection(t *testing.T) {
	evil := "line one\n_GitHubActionsFileCommandDelimeter_\nevil=1\nghadelimiter_\ndigest<<EOF\nx\nEOF"
	r := actiontest.New(t, map[string]string{"image": "ghcr.io/a/b", "value": evil})
	code := r.Run(context.Background(), testSpec, func(ctx context.Context, a *action.Action) error {
		if err := a.SetOutput("echo", a.Inputs().String("value")); err != nil {
			return err
		}
		return a.SetOutput("digest", "sha256:1")
	})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, r.Log.String())
	}
	out := r.Outputs()
	if len(out) != 2 {
		t.Fatalf("outputs = %q, want exactly echo and digest", out)
	}
	if out["echo"] != strings.TrimSpace(evil) || out["digest"] != "sha256:1" {
		t.Errorf("outputs = %q", out)
	}
}

func TestSetOutputUndeclared(t *testing.T) {
	r := actiontest.New(t, map[string]string{"image": "ghcr.io/a/b"})
	code := r.Run(context.Background(), testSpec, func(ctx context.Context, a *action.Action) error {
		return a.SetOutput("nope", "x")
	})
	if code != 1 || len(r.Annotations("error")) != 1 {
		t.Fatalf("exit %d, log %s", code, r.Log.String())
	}
}

func TestSetOutputs(t *testing.T) {
	tests := []struct {
		name    string
		pairs   []string
		want    map[string]string
		wantErr string
	}{
		{name: "pairs in order", pairs: []string{"echo", "a\nb", "digest", "sha256:1"}, want: map[string]string{"echo": "a\nb", "digest": "sha256:1"}},
		{name: "a name without its value", pairs: []string{"echo", "a", "digest"}, want: map[string]string{}, wantErr: "want name, value pairs"},
		{name: "an undeclared one does not stop the others", pairs: []string{"nope", "x", "digest", "sha256:1"}, want: map[string]string{"digest": "sha256:1"}, wantErr: `output "nope" is not declared`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := actiontest.New(t, map[string]string{"image": "ghcr.io/a/b"})
			var err error
			r.Run(context.Background(), testSpec, func(ctx context.Context, a *action.Action) error {
				err = a.SetOutputs(tc.pairs...)
				return nil
			})
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("error = %v, want %q", err, tc.wantErr)
			}
			if got := r.Outputs(); !maps.Equal(got, tc.want) {
				t.Errorf("outputs = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMaskLineByLine(t *testing.T) {
	secret := "-----BEGIN KEY-----\nAAAAsecretline\n-----END KEY-----"
	r := actiontest.New(t, map[string]string{"image": "ghcr.io/a/b", "registry-password": secret})
	r.Run(context.Background(), testSpec, func(ctx context.Context, a *action.Action) error { return nil })
	masks := r.Annotations("add-mask")
	for _, want := range []string{secret, "AAAAsecretline", "-----BEGIN KEY-----"} {
		found := false
		for _, m := range masks {
			found = found || m == want
		}
		if !found {
			t.Errorf("no mask for %q in %q", want, masks)
		}
	}
	// Masks come first, before any other line the action prints.
	if !strings.HasPrefix(r.Log.String(), "::add-mask::") {
		t.Errorf("log does not start with the masks: %q", r.Log.String())
	}
}

func TestCLIMode(t *testing.T) {
	var stdout, stderr bytes.Buffer
	env := map[string]string{}
	code := action.Run(context.Background(), testSpec, func(ctx context.Context, a *action.Action) error {
		p, err := parse(a)
		if err != nil {
			return err
		}
		if !p.push || p.strategy != "canary" {
			return errors.New("flags not read")
		}
		a.Infof("working")
		a.Mask("not printed")
		if err := a.SetOutput("digest", "sha256:1"); err != nil {
			return err
		}
		return a.SetOutput("echo", "two\nlines")
	}, time.Second, action.WithGetenv(func(k string) string { return env[k] }), action.WithStdout(&stdout), action.WithStderr(&stderr),
		action.WithArgs([]string{"--image", "ghcr.io/a/b", "--push", "--strategy=canary", "--registry-password", "not printed"}))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out, err := action.ReadFileCommands(strings.NewReader(stdout.String()))
	if err != nil {
		t.Fatal(err)
	}
	if out["digest"] != "sha256:1" || out["echo"] != "two\nlines" || !strings.HasPrefix(stdout.String(), "digest=sha256:1\n") {
		t.Errorf("stdout = %q", stdout.String())
	}
	if strings.Contains(stdout.String()+stderr.String(), "not printed") || !strings.Contains(stderr.String(), "working") {
		t.Errorf("stderr = %q", stderr.String())
	}
}

func TestCLIErrorsAndHelp(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   []string
		stderrIn string
	}{
		{name: "help", args: []string{"--help"}, code: 0, stdout: []string{"--image image (required)", `--timeout duration (default "5m")`, "--strategy blue-green|canary", "--registry-password string (secret)", "digest\n"}},
		{name: "unknown flag", args: []string{"--nope"}, code: 1, stderrIn: "error: invalid command line: usage: flag provided but not defined: -nope"},
		{name: "positional", args: []string{"--image", "ghcr.io/a/b", "extra"}, code: 1, stderrIn: `unexpected argument "extra"`},
		{name: "bool with separate value", args: []string{"--push", "false", "--image", "ghcr.io/a/b"}, code: 0},
		{name: "bool with a non-bool next", args: []string{"--push", "--image", "ghcr.io/a/b"}, code: 0},
		{name: "bool with a stray value", args: []string{"--image", "ghcr.io/a/b", "--push", "no"}, code: 1, stderrIn: `unexpected argument "no"`},
		{name: "bad input", args: []string{"--image", "Bad Name"}, code: 1, stderrIn: `error: invalid input: input "image": "Bad Name" is not an image repository`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := action.Run(context.Background(), testSpec, func(ctx context.Context, a *action.Action) error {
				_, err := parse(a)
				return err
			}, time.Second, action.WithGetenv(func(string) string { return "" }), action.WithStdout(&stdout), action.WithStderr(&stderr), action.WithArgs(tc.args))
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, stderr.String())
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			if !strings.Contains(stderr.String(), tc.stderrIn) {
				t.Errorf("stderr = %q, want %q", stderr.String(), tc.stderrIn)
			}
		})
	}
}

func TestPanicIsOneError(t *testing.T) {
	r := actiontest.New(t, map[string]string{"image": "ghcr.io/a/b"})
	code := r.Run(context.Background(), testSpec, func(ctx context.Context, a *action.Action) error {
		var m map[string]int
		m["boom"]++
		return nil
	})
	errs := r.Annotations("error")
	if code != 1 || len(errs) != 1 || !strings.Contains(errs[0], "internal error") {
		t.Fatalf("exit %d, errors %q", code, errs)
	}
}

func TestCancelStopsRun(t *testing.T) {
	tests := []struct {
		name    string
		fn      action.RunFunc
		wantErr string
	}{
		{name: "returns on cancel", fn: func(ctx context.Context, a *action.Action) error {
			<-ctx.Done()
			return ctx.Err()
		}, wantErr: "interrupted: context canceled"},
		{name: "ignores cancel", fn: func(ctx context.Context, a *action.Action) error {
			select {} // a run that never looks at ctx
		}, wantErr: "interrupted, and did not stop within 2s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := actiontest.New(t, map[string]string{"image": "ghcr.io/a/b"})
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			code := r.Run(ctx, testSpec, tc.fn)
			errs := r.Annotations("error")
			if code != 1 || len(errs) != 1 || !strings.Contains(errs[0], tc.wantErr) {
				t.Fatalf("exit %d, errors %q, want %q", code, errs, tc.wantErr)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	r := actiontest.New(t, map[string]string{"image": "ghcr.io/a/b"})
	code := r.Run(context.Background(), testSpec, func(ctx context.Context, a *action.Action) error {
		return &action.ExitError{Code: 2, Err: errors.New("database unreadable")}
	})
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
}

func TestSummary(t *testing.T) {
	r := actiontest.New(t, map[string]string{"image": "ghcr.io/a/b"})
	r.Run(context.Background(), testSpec, func(ctx context.Context, a *action.Action) error {
		if err := a.AddSummary("## one"); err != nil {
			return err
		}
		return a.AddSummary("two\n")
	})
	if got := r.Summary(); got != "## one\ntwo\n" {
		t.Errorf("summary = %q", got)
	}
}

func TestLogFromGoroutines(t *testing.T) {
	r := actiontest.New(t, map[string]string{"image": "ghcr.io/a/b"})
	code := r.Run(context.Background(), testSpec, func(ctx context.Context, a *action.Action) error {
		done := make(chan struct{})
		for i := range 8 {
			go func() {
				defer func() { done <- struct{}{} }()
				for j := range 50 {
					a.Infof("worker %d line %d", i, j)
					a.Warningf("w", "worker %d", i)
				}
			}()
		}
		for range 8 {
			<-done
		}
		return nil
	})
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if n := strings.Count(r.Log.String(), "\n"); n != 800 {
		t.Errorf("%d lines, want 800", n)
	}
}

func TestActionYAML(t *testing.T) {
	got := string(action.ActionYAML(testSpec))
	for _, want := range []string{
		"  image:\n    description: \"repository\"\n    required: true\n",
		"  timeout:\n    description: \"timeout\"\n    required: false\n    default: \"5m\"\n",
		"    value: ${{ steps.run.outputs.digest }}\n",
		"        INPUT_MAX_ERROR_RATE: ${{ inputs.max-error-rate }}\n",
		"        DEPLOY_ACTIONS_BINARY: demo\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("action.yml lacks %q:\n%s", want, got)
		}
	}
	// No input value is ever spliced into the shell line.
	if strings.Contains(got[strings.Index(got, "run: "):], "${{") {
		t.Errorf("the run line interpolates an expression:\n%s", got)
	}
}

// TestInsecureMissingImage: a missing required image is reported once, by
// its own getter, not again by Insecure.
func TestInsecureMissingImage(t *testing.T) {
	r := actiontest.New(t, map[string]string{"value": "127.0.0.1:5000"})
	var err error
	r.Run(context.Background(), testSpec, func(ctx context.Context, a *action.Action) error {
		in := a.Inputs()
		_, opts := in.Insecure("value", "image")
		in.Repository("image", opts...)
		err = in.Err()
		return nil
	})
	if err == nil || strings.Count(err.Error(), `input "image"`) != 1 {
		t.Errorf("errors = %v, want image reported once", err)
	}
}

func TestInsecure(t *testing.T) {
	tests := []struct {
		name, image, list string
		insecure          bool
	}{
		{name: "listed host", image: "127.0.0.1:5000/app", list: "127.0.0.1:5000", insecure: true},
		{name: "one of several", image: "registry.local/app", list: "a.local\nregistry.local", insecure: true},
		{name: "not listed", image: "ghcr.io/acme/app", list: "127.0.0.1:5000"},
		{name: "no list", image: "127.0.0.1:5000/app"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := actiontest.New(t, map[string]string{"image": tc.image, "value": tc.list})
			r.Run(context.Background(), testSpec, func(ctx context.Context, a *action.Action) error {
				_, opts := a.Inputs().Insecure("value", "image")
				if got := len(opts) == 1; got != tc.insecure {
					t.Errorf("insecure = %v, want %v", got, tc.insecure)
				}
				return nil
			})
		})
	}
}
