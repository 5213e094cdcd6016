package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// debianTool is a program the sandbox runs and the Debian package shipping it.
type debianTool struct {
	binary string
	pkg    string
}

var (
	toolRegistry   = debianTool{binary: "docker-registry", pkg: "docker-registry"}
	toolPrometheus = debianTool{binary: "prometheus", pkg: "prometheus"}
)

// MissingPackageError reports a program that is not installed and could not
// be installed. It names the Debian package that provides it.
type MissingPackageError struct {
	Binary     string
	Package    string
	InstallErr error // why installing it failed, if it was tried
}

func (e *MissingPackageError) Error() string {
	msg := fmt.Sprintf("%q not found on PATH: install the Debian package %q (sudo apt-get install -y %s)", e.Binary, e.Package, e.Package)
	if e.InstallErr != nil {
		msg += fmt.Sprintf("; installing it failed: %v", e.InstallErr)
	}
	return msg
}

// Installer installs Debian packages by name.
type Installer func(ctx context.Context, pkgs []string) error

// AptInstaller installs packages with apt-get (through `sudo -n` when not
// root), running `apt-get update` once per process first.
func AptInstaller() Installer {
	var once sync.Once
	var updateErr error
	return func(ctx context.Context, pkgs []string) error {
		once.Do(func() { updateErr = runApt(ctx, "update") })
		if updateErr != nil {
			return updateErr
		}
		return runApt(ctx, append([]string{"install", "-y", "--no-install-recommends"}, pkgs...)...)
	}
}

func runApt(ctx context.Context, args ...string) error {
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("apt-get not found: this is not a Debian-like system")
	}
	name, full := "apt-get", args
	if os.Geteuid() != 0 {
		name, full = "sudo", append([]string{"-n", "apt-get"}, args...)
	}
	cmd := exec.CommandContext(ctx, name, full...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("running %s %s: %w\n%s", name, strings.Join(full, " "), err, lastLines(out.String(), 10))
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// findTools returns the path of each tool's binary. Missing ones are
// installed together through install (if not nil) and looked up again.
func findTools(ctx context.Context, lookPath func(string) (string, error), install Installer, tools ...debianTool) (map[string]string, error) {
	if lookPath == nil {
		lookPath = exec.LookPath
	}
	paths := make(map[string]string, len(tools))
	var missing []debianTool
	for _, t := range tools {
		if p, err := lookPath(t.binary); err == nil {
			paths[t.binary] = p
		} else {
			missing = append(missing, t)
		}
	}
	if len(missing) == 0 {
		return paths, nil
	}
	var installErr error
	if install != nil {
		var pkgs []string
		for _, t := range missing {
			pkgs = append(pkgs, t.pkg)
		}
		installErr = install(ctx, pkgs)
	}
	for _, t := range missing {
		p, err := lookPath(t.binary)
		if err != nil {
			return nil, &MissingPackageError{Binary: t.binary, Package: t.pkg, InstallErr: installErr}
		}
		paths[t.binary] = p
	}
	return paths, nil
}
