package image

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestParseMapping(t *testing.T) {
	tests := []struct {
		in   string
		want Mapping
		ok   bool
	}{
		{".:/app", Mapping{".", "/app"}, true},
		{"dist:/usr/share/nginx/html", Mapping{"dist", "/usr/share/nginx/html"}, true},
		{"bin/server:/usr/local/bin/", Mapping{"bin/server", "/usr/local/bin/"}, true},
		{"./a/../b:/x/./y", Mapping{"b", "/x/y"}, true},
		{"a:/", Mapping{"a", "/"}, true},
		{"../secret:/app", Mapping{}, false},
		{"a/../../secret:/app", Mapping{}, false},
		{"/etc/passwd:/app", Mapping{}, false},
		{"dist:relative", Mapping{}, false},
		{"dist", Mapping{}, false},
		{":/app", Mapping{}, false},
		{"dist:", Mapping{}, false},
		{"a\x00b:/app", Mapping{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseMapping(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("ParseMapping(%q) error = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if got != tc.want {
				t.Errorf("ParseMapping(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzParseMapping checks that an accepted mapping never points outside
// the context and round-trips through String.
func FuzzParseMapping(f *testing.F) {
	for _, s := range []string{".:/app", "a/../b:/x", "../x:/y", "a:b:/c", "/abs:/x", "a:/b/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMapping(s)
		if err != nil {
			return
		}
		if m.Src != "." && !filepath.IsLocal(m.Src) {
			t.Fatalf("ParseMapping(%q) = %+v: source leaves the context", s, m)
		}
		if !strings.HasPrefix(m.Dest, "/") {
			t.Fatalf("ParseMapping(%q) = %+v: destination not absolute", s, m)
		}
		again, err := ParseMapping(m.String())
		if err != nil || again != m {
			t.Fatalf("ParseMapping(%q) = %+v, reparsed as %+v, %v", s, m, again, err)
		}
	})
}

func TestScan(t *testing.T) {
	outside := writeTree(t, map[string]string{"secret": "s3cret"})
	tests := []struct {
		name     string
		files    map[string]string
		links    map[string]string // link name -> target
		mappings []string
		want     []string // entry names, sorted
		wantErr  error
		errText  string
	}{
		{
			name:  "default mapping puts the context at /app without .git",
			files: map[string]string{"a.txt": "a", "sub/b.txt": "b", ".git/HEAD": "ref", "run.sh*": "#!/bin/sh"},
			want:  []string{"app/", "app/a.txt", "app/run.sh", "app/sub/", "app/sub/b.txt"},
		},
		{
			name:     "file to a directory destination keeps its name",
			files:    map[string]string{"bin/server": "x"},
			mappings: []string{"bin/server:/usr/local/bin/"},
			want:     []string{"usr/local/bin/server"},
		},
		{
			name:     "file to a file destination is renamed",
			files:    map[string]string{"bin/server": "x"},
			mappings: []string{"bin/server:/srv"},
			want:     []string{"srv"},
		},
		{
			name:     "several mappings",
			files:    map[string]string{"dist/index.html": "x", "config.json": "{}"},
			mappings: []string{"dist:/www", "config.json:/etc/app/"},
			want:     []string{"etc/app/config.json", "www/", "www/index.html"},
		},
		{
			name:  "links inside the tree are kept as links, not followed",
			files: map[string]string{"real.txt": "r"},
			links: map[string]string{"link.txt": "real.txt", "abs": "/usr/bin/node", "out": outside},
			want:  []string{"app/", "app/abs", "app/link.txt", "app/out", "app/real.txt"},
		},
		{
			name:     "a source that is a link inside the context is followed",
			files:    map[string]string{"v2/app.js": "x"},
			links:    map[string]string{"current": "v2"},
			mappings: []string{"current:/app"},
			want:     []string{"app/", "app/app.js"},
		},
		{
			name:     "a source that is a link leaving the context is refused",
			files:    map[string]string{"a": "a"},
			links:    map[string]string{"escape": outside},
			mappings: []string{"escape:/app"},
			wantErr:  ErrEscapesContext,
		},
		{
			name:     "a source through a linked directory leaving the context is refused",
			files:    map[string]string{"a": "a"},
			links:    map[string]string{"dir": filepath.Dir(filepath.Join(outside, "secret"))},
			mappings: []string{"dir/secret:/app/secret"},
			wantErr:  ErrEscapesContext,
		},
		{
			name:     "dot-dot is refused",
			files:    map[string]string{"a": "a"},
			mappings: []string{"../x:/app"},
			wantErr:  ErrEscapesContext,
		},
		{
			name:     "a missing source is an error",
			files:    map[string]string{"a": "a"},
			mappings: []string{"nope:/app"},
			wantErr:  os.ErrNotExist,
		},
		{
			name:     "two files at one destination is an error",
			files:    map[string]string{"a": "a", "b": "b"},
			mappings: []string{"a:/x", "b:/x"},
			errText:  "also given by another source",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeTree(t, tc.files)
			for name, target := range tc.links {
				if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
					t.Fatal(err)
				}
			}
			var ms []Mapping
			for _, s := range tc.mappings {
				m, err := ParseMapping(s)
				if err != nil {
					ms = append(ms, Mapping{Src: strings.Split(s, ":")[0], Dest: "/app"})
					continue
				}
				ms = append(ms, m)
			}
			entries, err := scan(dir, ms)
			if tc.wantErr != nil || tc.errText != "" {
				if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("scan error = %v, want %v %q", err, tc.wantErr, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatalf("scan: %v", err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.name)
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("entries = %q, want %q", names, tc.want)
			}
		})
	}
}

func TestSplitLayersKeepsParents(t *testing.T) {
	dir := writeTree(t, map[string]string{"a/b/c.txt": "1", "a/d.txt": "2", "e/f.txt": "3", "g.txt": "4"})
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := scan(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	layers := splitLayers(entries, 3)
	seen := map[string]bool{}
	for _, l := range layers {
		have := map[string]bool{}
		for i, e := range l {
			if i > 0 && l[i-1].name >= e.name {
				t.Errorf("layer not sorted: %q before %q", l[i-1].name, e.name)
			}
			have[e.name] = true
			seen[e.name] = true
		}
		for _, e := range l {
			if p := parentDir(e.name); p != "" && !have[p] {
				t.Errorf("layer has %q without its parent %q", e.name, p)
			}
		}
	}
	for _, e := range entries {
		if !seen[e.name] {
			t.Errorf("entry %q is in no layer", e.name)
		}
	}
}

// TestSwappedBetweenScanAndWrite replaces a scanned source between the scan
// of the context and the write of its layer (the window a hostile step of
// the same job has while the base image is resolved): a link to a file
// outside the context, of the same size, must never put that file's bytes
// in the layer; a file replaced by another is refused too.
func TestSwappedBetweenScanAndWrite(t *testing.T) {
	const secret = "s3cret" // the same size as "public"
	outside := writeTree(t, map[string]string{"secret": secret, "sub/f.txt": secret})
	tests := []struct {
		name     string
		mappings []string
		swap     func(t *testing.T, dir string)
		wantErr  error // nil: any error but the bytes of outside
	}{
		{
			name: "the file becomes a link out of the context",
			swap: func(t *testing.T, dir string) {
				replace(t, filepath.Join(dir, "f.txt"), func(p string) error { return os.Symlink(filepath.Join(outside, "secret"), p) })
			},
		},
		{
			name:     "a single-file source becomes a link out of the context",
			mappings: []string{"f.txt:/srv/f.txt"},
			swap: func(t *testing.T, dir string) {
				replace(t, filepath.Join(dir, "f.txt"), func(p string) error { return os.Symlink(filepath.Join(outside, "secret"), p) })
			},
		},
		{
			name: "the file becomes a link inside the context",
			swap: func(t *testing.T, dir string) {
				replace(t, filepath.Join(dir, "f.txt"), func(p string) error { return os.Symlink("other.txt", p) })
			},
		},
		{
			name: "the directory above the file becomes a link out of the context",
			swap: func(t *testing.T, dir string) {
				if err := os.RemoveAll(filepath.Join(dir, "sub")); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(filepath.Join(outside, "sub"), filepath.Join(dir, "sub")); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "the file is replaced by another file",
			swap: func(t *testing.T, dir string) {
				replace(t, filepath.Join(dir, "f.txt"), func(p string) error { return os.WriteFile(p, []byte(secret), 0o644) })
			},
			wantErr: ErrReplaced,
		},
		{
			name: "the file becomes a named pipe",
			swap: func(t *testing.T, dir string) {
				replace(t, filepath.Join(dir, "f.txt"), func(p string) error { return syscall.Mkfifo(p, 0o644) })
			},
			wantErr: ErrReplaced,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{"f.txt": "public", "other.txt": "other!", "sub/f.txt": "public"})
			var ms []Mapping
			for _, s := range tc.mappings {
				m, err := ParseMapping(s)
				if err != nil {
					t.Fatal(err)
				}
				ms = append(ms, m)
			}
			entries, err := scan(dir, ms)
			if err != nil {
				t.Fatal(err)
			}
			tc.swap(t, dir)
			var layer bytes.Buffer
			err = newFileLayer(entries, time.Unix(0, 0), 1, types.OCILayer).writeTar(&layer)
			if strings.Contains(layer.String(), secret) {
				t.Fatalf("the layer holds the swapped-in file's bytes (err %v)", err)
			}
			if err == nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("writing the layer: %v, want an error (%v)", err, tc.wantErr)
			}
			t.Log(err)
		})
	}
}

// replace removes p and makes something else at the same path.
func replace(t *testing.T, p string, make func(string) error) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := make(p); err != nil {
		t.Fatal(err)
	}
}

// hookWriter runs hook once, when more than after bytes were written.
type hookWriter struct {
	bytes.Buffer
	after int
	hook  func()
}

func (w *hookWriter) Write(p []byte) (int, error) {
	if w.hook != nil && w.Len() > w.after {
		w.hook()
		w.hook = nil
	}
	return w.Buffer.Write(p)
}

// TestChangedWhileCopied: a source rewritten in place, at the same size,
// while its bytes are being copied into the layer is refused: the layer
// would hold bytes of no one state of the file, under the cache key of the
// scanned one.
func TestChangedWhileCopied(t *testing.T) {
	big := strings.Repeat("a", 1<<20)
	dir := writeTree(t, map[string]string{"f.txt": big})
	entries, err := scan(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &hookWriter{after: 64 << 10, hook: func() {
		// 64 KiB into the file's copy (it was opened and checked before
		// the first of them): rewrite it in place.
		f, err := os.OpenFile(filepath.Join(dir, "f.txt"), os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // a later change time, on any clock granularity
		f.WriteAt([]byte(strings.Repeat("b", 1<<20)), 0)
		f.Close()
	}}
	err = newFileLayer(entries, time.Unix(0, 0), 1, types.OCILayer).writeTar(w)
	if !errors.Is(err, ErrReplaced) {
		t.Fatalf("writing the layer: %v, want ErrReplaced", err)
	}
}
