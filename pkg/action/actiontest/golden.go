package actiontest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/action"
)

var update = flag.Bool("update", false, "rewrite generated files (actions/<name>/action.yml) instead of comparing them")

// CheckActionYAML fails the test when actions/<name>/action.yml (found from
// the cmd/<name> test's directory) differs from what spec generates, so the
// composite action's inputs, defaults and outputs can never drift from the
// binary's. `go test ./cmd/<name> -update` rewrites it.
func CheckActionYAML(t *testing.T, spec *action.Spec) {
	t.Helper()
	path := filepath.Join("..", "..", "actions", spec.Name, "action.yml")
	want := action.ActionYAML(spec)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it with: go test ./cmd/%s -update)", err, spec.Name)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date with cmd/%s/spec.go; regenerate it with: go test ./cmd/%s -run TestActionYAML -update", path, spec.Name, spec.Name)
	}
}
