package scan_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/fxplatform/deploy-actions/pkg/scan"
	"github.com/fxplatform/deploy-actions/pkg/scan/scantest"
)

// entry is one tar entry of a test layer: a file with content, or a
// whiteout when content is nil.
type entry struct {
	name    string
	content []byte
}

func layer(t *testing.T, entries ...entry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.content)
	}
	tw.Close()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLayersAreSquashed(t *testing.T) {
	lock, err := os.ReadFile(scantest.Testdata + "/rootfs/app/package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile(scantest.Testdata + "/rootfs/var/lib/dpkg/status")
	if err != nil {
		t.Fatal(err)
	}
	osRelease, _ := os.ReadFile(scantest.Testdata + "/rootfs/etc/os-release")
	zlibOnly := []byte("Package: zlib1g\nStatus: install ok installed\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\nArchitecture: amd64\nDescription: compression library - runtime\n\n")
	base := layer(t, entry{"etc/os-release", osRelease}, entry{"var/lib/dpkg/status", status}, entry{"app/package-lock.json", lock}, entry{"srv/package-lock.json", lock})
	for _, tc := range []struct {
		name  string
		upper []v1.Layer
		want  []string
	}{
		{"one layer", nil, []string{"app:express", "app:lodash", "app:minimist", "dpkg:libssl3", "dpkg:zlib1g", "srv:express", "srv:lodash", "srv:minimist"}},
		{"a whiteout deletes a lower file", []v1.Layer{layer(t, entry{"app/.wh.package-lock.json", []byte{}})},
			[]string{"dpkg:libssl3", "dpkg:zlib1g", "srv:express", "srv:lodash", "srv:minimist"}},
		{"a whited-out directory takes its files along", []v1.Layer{layer(t, entry{".wh.srv", []byte{}})},
			[]string{"app:express", "app:lodash", "app:minimist", "dpkg:libssl3", "dpkg:zlib1g"}},
		{"an opaque directory hides the lower files, keeps its own", []v1.Layer{layer(t, entry{"var/lib/dpkg/.wh..wh..opq", []byte{}}, entry{"var/lib/dpkg/status", zlibOnly})},
			[]string{"app:express", "app:lodash", "app:minimist", "dpkg:zlib1g", "srv:express", "srv:lodash", "srv:minimist"}},
		{"an upper file replaces a lower one", []v1.Layer{layer(t, entry{"var/lib/dpkg/status", zlibOnly})},
			[]string{"app:express", "app:lodash", "app:minimist", "dpkg:zlib1g", "srv:express", "srv:lodash", "srv:minimist"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := mutate.AppendLayers(empty.Image, append([]v1.Layer{base}, tc.upper...)...)
			if err != nil {
				t.Fatal(err)
			}
			inv, err := scan.ReadInventory(context.Background(), img, 0)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range inv.Packages() {
				where := "dpkg"
				switch p.Location.PathOrEmpty() {
				case "app/package-lock.json":
					where = "app"
				case "srv/package-lock.json":
					where = "srv"
				}
				got = append(got, where+":"+p.Name)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("packages %v, want %v", got, tc.want)
			}
		})
	}
}

// TestMemoryBudget: an image of a few megabytes can hold lockfiles of
// gigabytes of whitespace (they compress to nothing). The scan keeps at
// most its budget of file bytes, over every layer, and stops with a
// *BudgetError past it: an incomplete scan, never an empty inventory.
func TestMemoryBudget(t *testing.T) {
	const mib = 1 << 20
	blank := bytes.Repeat([]byte(" "), 4*mib)
	three := layer(t, entry{"a/package-lock.json", blank}, entry{"b/package-lock.json", blank})
	upper := layer(t, entry{"c/package-lock.json", blank})
	img, err := mutate.AppendLayers(empty.Image, three, upper)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		budget   scan.Budget
		wantPath string // "" when it fits
	}{
		{"the third file, in the upper layer, is past the budget", 10 * mib, "c/package-lock.json"},
		{"the second file is past the budget", 6 * mib, "b/package-lock.json"},
		{"all three fit", 13 * mib, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := scan.ReadInventory(context.Background(), img, tc.budget)
			var be *scan.BudgetError
			if tc.wantPath == "" {
				// Whitespace is no lockfile: the extractor's complaint,
				// not the budget, is what stops this one.
				if errors.As(err, &be) {
					t.Fatalf("ReadInventory with a budget of %d: %v", tc.budget, err)
				}
				return
			}
			if !errors.As(err, &be) || be.Path != tc.wantPath || be.Budget != int64(tc.budget) {
				t.Fatalf("ReadInventory = %v, want a *BudgetError for %s", err, tc.wantPath)
			}
		})
	}

	// A hard link is parsed again: it costs its file's bytes again. Empty
	// files and long names are not free either.
	small := bytes.Repeat([]byte(" "), mib)
	var buf0 bytes.Buffer
	tw0 := tar.NewWriter(&buf0)
	tw0.WriteHeader(&tar.Header{Name: "app/package-lock.json", Mode: 0o644, Size: int64(len(small)), Typeflag: tar.TypeReg})
	tw0.Write(small)
	for i := range 20 {
		tw0.WriteHeader(&tar.Header{Name: fmt.Sprintf("app%d/package-lock.json", i), Typeflag: tar.TypeLink, Linkname: "app/package-lock.json"})
	}
	tw0.Close()
	linked, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf0.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	var empties []entry
	for i := range 70000 {
		empties = append(empties, entry{fmt.Sprintf("node_modules/p%d/package.json", i), nil})
	}
	for _, tc := range []struct {
		name string
		l    v1.Layer
	}{
		{"20 hard links to a 1 MiB lockfile", linked},
		{"70,000 empty package.json files", layer(t, empties...)},
	} {
		t.Run(tc.name+" are past a 16 MiB budget", func(t *testing.T) {
			img, err := mutate.AppendLayers(empty.Image, tc.l)
			if err != nil {
				t.Fatal(err)
			}
			var be *scan.BudgetError
			if _, err := scan.ReadInventory(context.Background(), img, 16*mib); !errors.As(err, &be) {
				t.Fatalf("ReadInventory = %v, want a *BudgetError", err)
			}
		})
	}

	// A header that claims a terabyte is refused before anything is
	// allocated, whatever follows it.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "usr/bin/app", Mode: 0o755, Size: 1 << 40, Typeflag: tar.TypeReg})
	forged, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.AppendLayers(empty.Image, forged)
	if err != nil {
		t.Fatal(err)
	}
	var be *scan.BudgetError
	if _, err := scan.ReadInventory(context.Background(), img, 0); !errors.As(err, &be) || be.Budget != int64(scan.DefaultBudget) {
		t.Fatalf("a forged 1 TiB header: %v, want a *BudgetError at the default budget", err)
	}
}

// TestTarOddities: what a runtime unpacks as the file an extractor reads,
// the scan reads too. A dpkg status stored as a hard link to a name no
// extractor asks for, or with a directory's type bits in its tar mode, still
// gives its packages; a file 10,000 directories deep is charged for the
// directories it adds and does not fit a small budget.
func TestTarOddities(t *testing.T) {
	status, err := os.ReadFile(scantest.Testdata + "/rootfs/var/lib/dpkg/status")
	if err != nil {
		t.Fatal(err)
	}
	osRelease, _ := os.ReadFile(scantest.Testdata + "/rootfs/etc/os-release")
	tarLayer := func(write func(tw *tar.Writer)) v1.Layer {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&tar.Header{Name: "etc/os-release", Mode: 0o644, Size: int64(len(osRelease)), Typeflag: tar.TypeReg})
		tw.Write(osRelease)
		write(tw)
		tw.Close()
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	regular := func(tw *tar.Writer, name string, mode int64) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(status)), Typeflag: tar.TypeReg})
		tw.Write(status)
	}
	packages := func(t *testing.T, l v1.Layer) []string {
		img, err := mutate.AppendLayers(empty.Image, l)
		if err != nil {
			t.Fatal(err)
		}
		inv, err := scan.ReadInventory(context.Background(), img, 0)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range inv.Packages() {
			names = append(names, p.Name)
		}
		slices.Sort(names)
		return names
	}
	for _, tc := range []struct {
		name  string
		write func(tw *tar.Writer)
	}{
		{"a hard link to a name no extractor wants", func(tw *tar.Writer) {
			regular(tw, "var/lib/dpkg/status-old", 0o644)
			tw.WriteHeader(&tar.Header{Name: "var/lib/dpkg/status", Typeflag: tar.TypeLink, Linkname: "var/lib/dpkg/status-old"})
		}},
		{"a directory's type bits in a regular file's mode", func(tw *tar.Writer) {
			regular(tw, "var/lib/dpkg/status", 0o40644)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := packages(t, tarLayer(tc.write)); !slices.Equal(got, []string{"libssl3", "zlib1g"}) {
				t.Errorf("packages %v, want libssl3 and zlib1g", got)
			}
		})
	}
	t.Run("a later entry replaces the link", func(t *testing.T) {
		got := packages(t, tarLayer(func(tw *tar.Writer) {
			regular(tw, "var/lib/dpkg/status-old", 0o644)
			tw.WriteHeader(&tar.Header{Name: "var/lib/dpkg/status", Typeflag: tar.TypeLink, Linkname: "var/lib/dpkg/status-old"})
			tw.WriteHeader(&tar.Header{Name: "var/lib/dpkg/.wh.status", Typeflag: tar.TypeReg})
		}))
		if len(got) != 0 {
			t.Errorf("packages %v from a whited-out link", got)
		}
	})
	t.Run("a file 10,000 directories deep", func(t *testing.T) {
		deep := strings.Repeat("d/", 10000) + "package.json"
		img, err := mutate.AppendLayers(empty.Image, tarLayer(func(tw *tar.Writer) {
			tw.WriteHeader(&tar.Header{Name: deep, Mode: 0o644, Size: 2, Typeflag: tar.TypeReg, Format: tar.FormatPAX})
			tw.Write([]byte("{}"))
		}))
		if err != nil {
			t.Fatal(err)
		}
		var be *scan.BudgetError
		if _, err := scan.ReadInventory(context.Background(), img, 16<<20); !errors.As(err, &be) {
			t.Fatalf("ReadInventory = %v, want a *BudgetError", err)
		}
	})
}

// streamLayer is a layer whose tar stream is made afresh on each read, with
// made-up digests: enough for a test that never pushes it.
type streamLayer struct{ gen func(w io.WriteCloser) }

var fakeDigest = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}

func (streamLayer) Digest() (v1.Hash, error)            { return fakeDigest, nil }
func (streamLayer) DiffID() (v1.Hash, error)            { return fakeDigest, nil }
func (streamLayer) Size() (int64, error)                { return 0, nil }
func (streamLayer) MediaType() (types.MediaType, error) { return types.OCIUncompressedLayer, nil }
func (streamLayer) Compressed() (io.ReadCloser, error)  { return nil, errors.New("not used") }
func (l streamLayer) Uncompressed() (io.ReadCloser, error) {
	pr, pw := io.Pipe()
	go l.gen(pw)
	return pr, nil
}

// TestStopsWithinALayer: a run stopped while one huge layer is read (a
// SIGTERM's grace is seconds) stops reading it, rather than reading a
// million entries to the end first.
func TestStopsWithinALayer(t *testing.T) {
	const total = 1_000_000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var written atomic.Int64
	l := streamLayer{gen: func(w io.WriteCloser) {
		tw := tar.NewWriter(w)
		for i := range total {
			if i == 5000 {
				cancel()
			}
			if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("f/%d", i), Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
				return // the reader stopped
			}
			written.Add(1)
		}
		tw.Close()
		w.Close()
	}}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	_, err = scan.ReadInventory(ctx, img, 0)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadInventory = %v, want context.Canceled", err)
	}
	if n := written.Load(); n >= total {
		t.Errorf("all %d entries were read after the cancel", n)
	}
}
