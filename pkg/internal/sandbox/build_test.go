package sandbox

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnsureBuiltRepairsHalfWrittenCache(t *testing.T) {
	moduleDir, err := filepath.Abs("testdata/tinybin")
	if err != nil {
		t.Fatal(err)
	}
	spec := buildSpec{name: "tiny", version: "v0.0.1", moduleDir: moduleDir, packages: []string{"."}, binaries: []string{"tinybin"}, estimate: "a second"}
	key, err := spec.key()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		prepare    func(t *testing.T, root, final string) // leaves the cache in some state
		wantNotice string                                 // in the progress output; "" for none
	}{
		{name: "cold cache", prepare: func(*testing.T, string, string) {}, wantNotice: "building tinybin"},
		{name: "killed build left a directory without stamp", prepare: func(t *testing.T, root, final string) {
			mustWrite(t, filepath.Join(final, "tinybin"), "\x7fELF truncated")
		}, wantNotice: "incomplete"},
		{name: "binary truncated after the stamp", prepare: func(t *testing.T, root, final string) {
			mustWrite(t, filepath.Join(final, "tinybin"), "\x7fELF truncated")
			mustWrite(t, filepath.Join(final, stampFile), `{"version":"v0.0.1","sizes":{"tinybin":999999}}`)
		}, wantNotice: "incomplete"},
		{name: "stamp is garbage", prepare: func(t *testing.T, root, final string) {
			mustWrite(t, filepath.Join(final, "tinybin"), "x")
			mustWrite(t, filepath.Join(final, stampFile), `{not json`)
		}, wantNotice: "incomplete"},
		{name: "temporary directory of a dead builder", prepare: func(t *testing.T, root, final string) {
			mustWrite(t, filepath.Join(root, "."+key+".tmp-999999999", "tinybin"), "partial")
		}, wantNotice: "building tinybin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			final := filepath.Join(root, key)
			tc.prepare(t, root, final)
			var progress bytes.Buffer
			dir, err := ensureBuilt(context.Background(), root, spec, &progress)
			if err != nil {
				t.Fatalf("ensureBuilt: %v", err)
			}
			if dir != final {
				t.Errorf("got directory %s, want %s", dir, final)
			}
			if !strings.Contains(progress.String(), tc.wantNotice) {
				t.Errorf("progress %q does not mention %q", progress.String(), tc.wantNotice)
			}
			out, err := exec.Command(filepath.Join(dir, "tinybin")).Output()
			if err != nil || strings.TrimSpace(string(out)) != "tinybin ok" {
				t.Errorf("cached binary: output %q, error %v", out, err)
			}
			if err := spec.checkComplete(dir); err != nil {
				t.Errorf("cache not complete after build: %v", err)
			}
			entries, _ := os.ReadDir(root)
			for _, e := range entries {
				if strings.Contains(e.Name(), ".tmp-") {
					t.Errorf("temporary directory %s left behind", e.Name())
				}
			}
			// A second call finds the cache complete and builds nothing.
			progress.Reset()
			if _, err := ensureBuilt(context.Background(), root, spec, &progress); err != nil || progress.Len() != 0 {
				t.Errorf("second ensureBuilt: error %v, progress %q; want a silent cache hit", err, progress.String())
			}
		})
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}
