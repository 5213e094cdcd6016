package scan

import (
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing/fstest"
	"time"
)

// tree is the files kept from an image's layers, as the extractors read
// them: an fs.FS, with ReadDir and Stat, over a map of files, with each
// directory's children indexed. fstest.MapFS lists a directory by going
// over every file, which made the walk of an image of many directories
// quadratic (20,000 took 8.5 s), and so was removing what a whiteout hides.
type tree struct {
	files fstest.MapFS
	dirs  map[string]map[string]bool // directory ("." is the root) -> child names
}

func newTree() *tree {
	return &tree{files: fstest.MapFS{}, dirs: map[string]map[string]bool{".": {}}}
}

// add puts the file f at p. As in a container's file system, a file
// replaces a directory at p, and a directory a file above p.
func (t *tree) add(p string, f *fstest.MapFile) {
	for _, q := range t.under(p) {
		t.remove(q)
	}
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		if _, isFile := t.files[dir]; isFile {
			t.remove(dir)
		}
	}
	t.files[p] = f
	for child, dir := p, path.Dir(p); ; child, dir = dir, path.Dir(dir) {
		kids, ok := t.dirs[dir]
		if !ok {
			kids = map[string]bool{}
			t.dirs[dir] = kids
		}
		if kids[path.Base(child)] {
			return // dir and those above it already lead here
		}
		kids[path.Base(child)] = true
		if dir == "." {
			return
		}
	}
}

// newDirsCost is what adding a file at p adds to the directory index: the
// path and fileOverhead of each directory above it not there yet (a file
// 10,000 directories deep adds 10,000 of them, of its path's prefixes).
func (t *tree) newDirsCost(p string) int64 {
	var cost int64
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		if _, ok := t.dirs[dir]; ok {
			break
		}
		cost += int64(len(dir)) + fileOverhead
	}
	return cost
}

// remove deletes the file at p, and the directories above it it leaves
// empty (directories exist only to hold files, as in fstest.MapFS).
func (t *tree) remove(p string) {
	if _, ok := t.files[p]; !ok {
		return
	}
	delete(t.files, p)
	for child, dir := p, path.Dir(p); ; child, dir = dir, path.Dir(dir) {
		kids := t.dirs[dir]
		delete(kids, path.Base(child))
		if len(kids) > 0 || dir == "." {
			return
		}
		delete(t.dirs, dir)
	}
}

// under lists the files below the directory dir ("" or "." for all).
func (t *tree) under(dir string) []string {
	if dir == "" {
		dir = "."
	}
	var out []string
	var walk func(d string)
	walk = func(d string) {
		for name := range t.dirs[d] {
			p := name
			if d != "." {
				p = d + "/" + name
			}
			if _, ok := t.files[p]; ok {
				out = append(out, p)
			} else {
				walk(p)
			}
		}
	}
	walk(dir)
	return out
}

// Open opens a file, or a directory that ReadDir lists.
func (t *tree) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if _, ok := t.files[name]; ok {
		return t.files.Open(name) // one map lookup for a file
	}
	if _, ok := t.dirs[name]; !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	entries, err := t.ReadDir(name)
	if err != nil {
		return nil, err
	}
	return &openDir{info: dirInfo(name), entries: entries}, nil
}

// ReadDir lists a directory, sorted by name.
func (t *tree) ReadDir(name string) ([]fs.DirEntry, error) {
	kids, ok := t.dirs[name]
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	out := make([]fs.DirEntry, 0, len(kids))
	for child := range kids {
		p := child
		if name != "." {
			p = name + "/" + child
		}
		info, err := t.Stat(p)
		if err != nil {
			return nil, err
		}
		out = append(out, fs.FileInfoToDirEntry(info))
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// Stat describes a file or a directory.
func (t *tree) Stat(name string) (fs.FileInfo, error) {
	if _, ok := t.files[name]; ok {
		return t.files.Stat(name)
	}
	if _, ok := t.dirs[name]; ok {
		return dirInfo(name), nil
	}
	return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
}

// dirInfo describes a directory that holds kept files.
type dirInfo string

func (d dirInfo) Name() string       { return path.Base(string(d)) }
func (d dirInfo) Size() int64        { return 0 }
func (d dirInfo) Mode() fs.FileMode  { return fs.ModeDir | 0o555 }
func (d dirInfo) ModTime() time.Time { return time.Time{} }
func (d dirInfo) IsDir() bool        { return true }
func (d dirInfo) Sys() any           { return nil }

// openDir is an open directory of a tree.
type openDir struct {
	info    dirInfo
	entries []fs.DirEntry
	offset  int
}

func (d *openDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *openDir) Close() error               { return nil }
func (d *openDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: string(d.info), Err: fs.ErrInvalid}
}

func (d *openDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.offset:]
	if n <= 0 {
		d.offset = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(rest))
	d.offset += n
	return rest[:n], nil
}
