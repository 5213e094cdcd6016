package actiontest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/action"
)

var update = flag.Bool("update", false, "rewrite generated and golden files (actions/<name>/action.yml, the README reference, testdata/*.md) instead of comparing them")

// CheckReadme fails the test when the README's reference of the action,
// between the lines <!-- reference:NAME --> and <!-- /reference:NAME -->,
// differs from what spec generates. `go test ./cmd/<name> -update`
// rewrites that part of the README.
func CheckReadme(t *testing.T, spec *action.Spec) {
	t.Helper()
	path := filepath.Join("..", "..", "README.md")
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	begin := []byte("<!-- reference:" + spec.Name + " -->\n")
	end := []byte("<!-- /reference:" + spec.Name + " -->")
	i, j := bytes.Index(readme, begin), bytes.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q ... %q block for %s", begin, end, spec.Name)
	}
	want := []byte(action.MarkdownReference(spec))
	got := readme[i+len(begin) : j]
	if bytes.Equal(got, want) {
		return
	}
	if !*update {
		t.Fatalf("README.md's reference of %s is out of date with cmd/%s/spec.go; regenerate it with: go test ./cmd/%s -run TestReadme -update", spec.Name, spec.Name, spec.Name)
	}
	out := append(append(append([]byte{}, readme[:i+len(begin)]...), want...), readme[j:]...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

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

// CheckGolden fails the test when got differs from the golden file
// testdata/<name> of the test's package, showing both. `go test -update`
// rewrites the file; review the diff before committing it.
func CheckGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (write it with: go test -run '%s' -update)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from what the test got; if the change is meant, rewrite it with: go test -run '%s' -update\n--- got:\n%s\n--- want (%s):\n%s",
			path, t.Name(), got, path, want)
	}
}
