package scan

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing/fstest"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// osReleaseFiles tell the OS extractors which distribution release the
// packages belong to (Debian:12, Alpine:v3.20): kept whatever the filter says.
var osReleaseFiles = map[string]bool{"etc/os-release": true, "usr/lib/os-release": true, "etc/alpine-release": true}

// Budget is the most a scan keeps in memory of an image's files, in bytes:
// every file an extractor reads (package databases, lockfiles, Go
// binaries), over all the layers, a file a later layer replaces included;
// a hard link to one as much again, since it is parsed again; and each
// file's path, and each directory it adds to the index, with fileOverhead,
// so that neither long or deep names nor many empty files come free.
// Parsing them takes up to twice as much again (900 MiB of lockfiles
// peaked at 2.5 GB), so the process needs about three times the budget; OSV-SCALIBR's parsers take up to 35 times a lockfile or a
// dpkg database made of very many tiny entries (measured by the hostile
// review). 0 means DefaultBudget.
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
		if err := s.apply(ctx, l, id, want); err != nil {
			return nil, fmt.Errorf("reading layer %d (%s): %w", i, id, err)
		}
	}
	return s, nil
}

func (s *squashed) apply(ctx context.Context, l v1.Layer, id v1.Hash, want wanted) error {
	pending, err := s.pass(ctx, l, id, want)
	if err != nil || len(pending) == 0 {
		return err
	}
	return s.linkPass(ctx, l, id, pending)
}

// entry is one tar entry of a layer, its name cleaned and split.
type entry struct {
	hdr             *tar.Header
	path, dir, base string
	body            io.Reader // the entry's bytes
}

// whiteout returns what a whiteout entry hides, and whether it is one
// (opaque: the directory's lower files, not the path itself).
func (e entry) whiteout() (target string, opaque, ok bool) {
	switch {
	case e.base == ".wh..wh..opq":
		return e.dir, true, true
	case strings.HasPrefix(e.base, ".wh."):
		return path.Join(e.dir, strings.TrimPrefix(e.base, ".wh.")), false, true
	}
	return "", false, false
}

// entries streams l's tar entries to fn in order. A layer of millions of
// entries is read to its end only if the run is not stopped: a SIGTERM's
// grace is seconds, so ctx is looked at every 1,024 entries.
func entries(ctx context.Context, l v1.Layer, fn func(entry) error) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
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
		if err := fn(entry{hdr: hdr, path: p, dir: strings.TrimSuffix(dir, "/"), base: base, body: tr}); err != nil {
			return err
		}
	}
}

// pass applies one layer's entries in order, keeping the wanted files. It
// returns the hard links an extractor wants whose target it did not keep
// (tar stores a file's first name as the file and the others as links to
// it, so a dpkg status or a lockfile can be a link to a name no extractor
// asks for): target -> the links' paths.
func (s *squashed) pass(ctx context.Context, l v1.Layer, id v1.Hash, want wanted) (map[string][]string, error) {
	added, opaqued := map[string]bool{}, map[string]bool{}
	var pending map[string][]string
	err := entries(ctx, l, func(e entry) error {
		p, hdr := e.path, e.hdr
		if target, opaque, ok := e.whiteout(); ok {
			switch {
			case opaque && !opaqued[target]:
				// Once per directory and layer: a marker repeated thousands
				// of times would walk the directory as many times.
				opaqued[target] = true
				s.removeUnder(target, added)
			case !opaque:
				s.remove(target)
				s.removeUnder(target, nil)
			}
			return nil
		}
		switch hdr.Typeflag {
		case tar.TypeReg:
			s.remove(p) // a file of a lower layer is replaced even if unwanted now
			info := regularInfo(p, hdr)
			if !osReleaseFiles[p] && !want(p, info) {
				return nil
			}
			// Charged before anything is allocated, so a forged size
			// cannot make the scanner allocate without limit.
			if err := s.spend(p, hdr.Size); err != nil {
				return err
			}
			data, err := readAll(e.body, p, hdr.Size)
			if err != nil {
				return err
			}
			s.store(p, &fstest.MapFile{Data: data, Mode: info.Mode(), ModTime: hdr.ModTime}, id)
			added[p] = true
		case tar.TypeLink:
			s.remove(p)
			target := clean(hdr.Linkname)
			f, ok := s.fs.files[target]
			if !ok {
				if osReleaseFiles[p] || want(p, regularInfo(p, hdr)) {
					if pending == nil {
						pending = map[string][]string{}
					}
					pending[target] = append(pending[target], p)
				}
				return nil
			}
			if err := s.spend(p, int64(len(f.Data))); err != nil {
				return err
			}
			s.store(p, f, id)
			added[p] = true
		case tar.TypeDir:
		default:
			// symlinks, devices: the target of a symlink is scanned where it lives.
			s.remove(p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pending, nil
}

// linkPass reads the layer again for the targets of the pending hard
// links and keeps the links, in the order of the layer: an entry after a
// link that replaces or whites it out removes it again.
func (s *squashed) linkPass(ctx context.Context, l v1.Layer, id v1.Hash, pending map[string][]string) error {
	data := map[string][]byte{}
	added := map[string]bool{} // links this pass kept
	drop := func(p string) {
		if added[p] {
			s.remove(p)
			delete(added, p)
		}
	}
	return entries(ctx, l, func(e entry) error {
		p, hdr := e.path, e.hdr
		if target, opaque, ok := e.whiteout(); ok {
			if !opaque { // an opaque marker keeps what this layer added
				drop(target)
				for q := range added {
					if target == "" || strings.HasPrefix(q, target+"/") {
						drop(q)
					}
				}
			}
			return nil
		}
		drop(p)
		switch hdr.Typeflag {
		case tar.TypeReg:
			if _, ok := pending[p]; ok {
				// Charged with the links that use it, not as a file; no
				// more than the budget left is ever allocated.
				if hdr.Size > s.budget-s.kept {
					return &BudgetError{Path: p, Size: hdr.Size, Kept: s.kept, Budget: s.budget}
				}
				b, err := readAll(e.body, p, hdr.Size)
				if err != nil {
					return err
				}
				data[p] = b
			}
		case tar.TypeLink:
			target := clean(hdr.Linkname)
			b, ok := data[target]
			if !ok || !slices.Contains(pending[target], p) {
				return nil
			}
			if _, filled := s.fs.files[p]; filled {
				return nil // a later entry of this layer put a file there
			}
			if err := s.spend(p, int64(len(b))); err != nil {
				return err
			}
			s.store(p, &fstest.MapFile{Data: b, Mode: fs.FileMode(hdr.Mode).Perm(), ModTime: hdr.ModTime}, id)
			added[p] = true
		}
		return nil
	})
}

// store keeps the file f at p, from the layer id.
func (s *squashed) store(p string, f *fstest.MapFile, id v1.Hash) {
	s.fs.add(p, f)
	s.layer[p] = id
}

// readAll reads the n bytes of the current entry, sized from its header
// (io.ReadAll's doubling would hold up to twice a large binary).
func readAll(r io.Reader, p string, n int64) ([]byte, error) {
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("reading %q: %w", p, err)
	}
	return data, nil
}

// regularInfo describes a regular file's tar entry as the extractors see
// it: its permission bits only. A mode that also carries a directory's,
// a link's or a pipe's type bits must not hide a regular file (containerd
// unpacks it as one), and the extractors skip anything not regular.
func regularInfo(p string, hdr *tar.Header) fs.FileInfo {
	return fileStat{name: path.Base(p), size: hdr.Size, mode: fs.FileMode(hdr.Mode).Perm(), mtime: hdr.ModTime}
}

type fileStat struct {
	name  string
	size  int64
	mode  fs.FileMode
	mtime time.Time
}

func (f fileStat) Name() string       { return f.name }
func (f fileStat) Size() int64        { return f.size }
func (f fileStat) Mode() fs.FileMode  { return f.mode }
func (f fileStat) ModTime() time.Time { return f.mtime }
func (f fileStat) IsDir() bool        { return false }
func (f fileStat) Sys() any           { return nil }

// spend takes what keeping the file at p, of size bytes, costs from the
// budget, or says it does not fit.
func (s *squashed) spend(p string, size int64) error {
	cost := size + int64(len(p)) + fileOverhead + s.fs.newDirsCost(p)
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
