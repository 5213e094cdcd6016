package action_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/action"
)

// TestMain doubles as the action process that TestSignal signals: with
// ACTION_TEST_HELPER set, the test binary runs action.Main instead of tests.
func TestMain(m *testing.M) {
	switch os.Getenv("ACTION_TEST_HELPER") {
	case "returns":
		action.Main(testSpec, func(ctx context.Context, a *action.Action) error {
			fmt.Println("ready")
			<-ctx.Done()
			return ctx.Err()
		})
	case "ignores":
		action.Main(testSpec, func(ctx context.Context, a *action.Action) error {
			fmt.Println("ready")
			select {}
		})
	}
	os.Exit(m.Run())
}

func TestSignal(t *testing.T) {
	tests := []struct {
		helper string
		signal syscall.Signal
		want   string
	}{
		{helper: "returns", signal: syscall.SIGINT, want: "interrupted: context canceled"},
		{helper: "returns", signal: syscall.SIGTERM, want: "::error title=demo failed::interrupted: context canceled"},
		{helper: "ignores", signal: syscall.SIGTERM, want: "interrupted, and did not stop within 5s"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %v", tc.helper, tc.signal), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "--image", "ghcr.io/a/b")
			cmd.Env = append(os.Environ(), "ACTION_TEST_HELPER="+tc.helper, "GITHUB_ACTIONS=true", "GITHUB_OUTPUT=", "GITHUB_STEP_SUMMARY=")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				out.WriteString(sc.Text() + "\n")
				if sc.Text() == "ready" {
					if err := cmd.Process.Signal(tc.signal); err != nil {
						t.Fatal(err)
					}
				}
			}
			err = cmd.Wait()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit: %v, want code 1; stdout:\n%s", err, out.String())
			}
			if strings.Count(out.String(), "::error") != 1 || !strings.Contains(out.String(), tc.want) {
				t.Errorf("stdout = %q, want one ::error containing %q", out.String(), tc.want)
			}
		})
	}
}
