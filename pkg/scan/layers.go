package scan

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"testing/fstest"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// osReleaseFiles tell the OS extractors which distribution release the
// packages belong to (Debian:12, Alpine:v3.20): kept whatever the filter says.
var osReleaseFiles = map[string]bool{"etc/os-release": true, "usr/lib/os-release": true, "etc/alpine-release": true}

// Budget is the most a scan keeps in memory of an image's files, in bytes:
// every file an extractor reads (package databases, lockfiles, Go
// binaries), over all the layers, a file a later layer replaces included;
// a hard link to one as much again, since it is parsed again; and each
// file's path with fileOverhead, so that neither long names nor many empty
// files come free. Parsing them takes up to twice as much again (900 MiB
// of lockfiles peaked at 2.5 GB), so the process needs about three times
// the budget. 0 means DefaultBudget.
type Budget int64

// DefaultBudget is 1 GiB: a large Node or Python image keeps tens of
// megabytes, an image of many Go binaries a few hundred.
const DefaultBudget Budget = 1 << 30

// fileOverhead is what a kept file costs beyond its bytes and its path:
// its map entries, its directory's index and the extractor's work on it.
const fileOverhead = 256

func (b Budget) bytes() int64 {
	if b <= 0 {
		return int64(DefaultBudget)
	}
	return int64(b)
}

// wanted says whether a file of the image is needed by an extractor.
type wanted func(p string, fi fs.FileInfo) bool

// squashed is the part of an image's file system the extractors need, with
// the layers applied in order (later files win, whiteouts delete).
type squashed struct {
	fs    *tree
	layer map[string]v1.Hash // path -> diff ID of the layer it came from
	// kept is the bytes read into fs so far, budget the most it may be.
	kept, budget int64
}

// squash streams each layer of img once, keeping the content of the files
// want accepts, within budget. Nothing is written to disk.
func squash(ctx context.Context, img v1.Image, want wanted, budget Budget) (*squashed, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("listing layers: %w", err)
	}
	s := &squashed{fs: newTree(), layer: map[string]v1.Hash{}, budget: budget.bytes()}
	for i, l := range layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		id, err := l.DiffID()
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		if err := s.apply(l, id, want); err != nil {
			return nil, fmt.Errorf("reading layer %d (%s): %w", i, id, err)
		}
	}
	return s, nil
}

func (s *squashed) apply(l v1.Layer, id v1.Hash, want wanted) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	added := map[string]bool{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p := clean(hdr.Name)
		if p == "" {
			continue
		}
		dir, base := path.Split(p)
		dir = strings.TrimSuffix(dir, "/")
		switch {
		case base == ".wh..wh..opq":
			s.removeUnder(dir, added)
			continue
		case strings.HasPrefix(base, ".wh."):
			target := path.Join(dir, strings.TrimPrefix(base, ".wh."))
			s.remove(target)
			s.removeUnder(target, nil)
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeReg:
			s.remove(p) // a file of a lower layer is replaced even if unwanted now
			if !osReleaseFiles[p] && !want(p, hdr.FileInfo()) {
				continue
			}
			// Checked against the header before anything is allocated, so
			// a forged size cannot make the scanner allocate without limit;
			// sized from it, as io.ReadAll's doubling would hold up to
			// twice a large binary.
			if err := s.spend(p, hdr.Size); err != nil {
				return err
			}
			data := make([]byte, hdr.Size)
			if _, err := io.ReadFull(tr, data); err != nil {
				return fmt.Errorf("reading %q: %w", p, err)
			}
			s.fs.add(p, &fstest.MapFile{Data: data, Mode: hdr.FileInfo().Mode(), ModTime: hdr.ModTime})
			s.layer[p] = id
			added[p] = true
		case tar.TypeLink:
			s.remove(p)
			if f, ok := s.fs.files[clean(hdr.Linkname)]; ok {
				if err := s.spend(p, int64(len(f.Data))); err != nil {
					return err
				}
				s.fs.add(p, f)
				s.layer[p] = id
				added[p] = true
			}
		case tar.TypeDir:
		default:
			// symlinks, devices: the target of a symlink is scanned where it lives.
			s.remove(p)
		}
	}
}

// spend takes what keeping the file at p, of size bytes, costs from the
// budget, or says it does not fit.
func (s *squashed) spend(p string, size int64) error {
	cost := size + int64(len(p)) + fileOverhead
	if cost > s.budget-s.kept {
		return &BudgetError{Path: p, Size: size, Kept: s.kept, Budget: s.budget}
	}
	s.kept += cost
	return nil
}

func (s *squashed) remove(p string) {
	s.fs.remove(p)
	delete(s.layer, p)
}

// removeUnder deletes the files below dir that keep is not holding (the
// files the current layer itself added survive its opaque marker).
func (s *squashed) removeUnder(dir string, keep map[string]bool) {
	for _, p := range s.fs.under(dir) {
		if !keep[p] {
			s.remove(p)
		}
	}
}

// clean makes a tar entry name a slash-separated path relative to the root.
func clean(name string) string {
	p := path.Clean("/" + name)
	return strings.TrimPrefix(p, "/")
}
