package actiontest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// BuildEnv and BuildFlags are how the suite's binaries are built for users
// (scripts/run-action, the Dockerfile; linker flags aside, which do not
// change what is compiled).
var (
	BuildEnv   = []string{"CGO_ENABLED=0"}
	BuildFlags = []string{"-trimpath"}
)

// Build compiles pkg (a package path or directory, relative to dir) into
// out as the suite's binaries are built for users: a test runs what ships,
// and every build in a test run shares one compiled dependency tree in the
// build cache with go vet, which scripts/test runs with the same settings.
// A cold run then compiles the tree once for binaries and once for -race,
// not once per flag set.
func Build(dir, out, pkg string) error {
	args := append(append([]string{"build"}, BuildFlags...), "-o", out, pkg)
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), BuildEnv...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return nil
}
