package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Mapping places a source from the context at a destination in the image.
// A directory source is copied with everything under it; a file source
// becomes the file Dest, or Dest/<name> when Dest ends with "/".
type Mapping struct {
	Src  string // relative to the context; "." is the whole context
	Dest string // absolute path in the image
}

// DefaultMapping is the files mapping when none is given: the whole context
// at /app (without the context's .git directory).
var DefaultMapping = []Mapping{{Src: ".", Dest: "/app"}}

// A mapping's source may name the platform being built, so that each
// platform of an index gets its own build of a compiled program, as
// GoReleaser, cargo or make leave them: "dist/{os}_{arch}/app:/app/" takes
// dist/linux_amd64/app for linux/amd64 and dist/linux_arm64/app for
// linux/arm64. {variant} is the platform's variant, or empty.
var platformPlaceholders = []string{"{os}", "{arch}", "{variant}"}

// perPlatform reports whether any mapping's source names the platform.
func perPlatform(files []Mapping) bool {
	for _, m := range files {
		for _, ph := range platformPlaceholders {
			if strings.Contains(m.Src, ph) {
				return true
			}
		}
	}
	return false
}

// forPlatform returns the mappings with the platform's names filled in.
func forPlatform(files []Mapping, p v1.Platform) []Mapping {
	r := strings.NewReplacer("{os}", p.OS, "{arch}", p.Architecture, "{variant}", p.Variant)
	out := make([]Mapping, len(files))
	for i, m := range files {
		out[i] = Mapping{Src: filepath.Clean(r.Replace(m.Src)), Dest: m.Dest}
	}
	return out
}

// String returns the SRC:DEST form ParseMapping reads.
func (m Mapping) String() string { return m.Src + ":" + m.Dest }

// ParseMapping parses "SRC:DEST". SRC must be a relative path that stays
// inside the context ("../x" and "/x" are rejected); DEST must be absolute.
// Symbolic links are checked later, against the file system, by Build.
func ParseMapping(s string) (Mapping, error) {
	src, dest, ok := strings.Cut(s, ":")
	if !ok || src == "" || dest == "" {
		return Mapping{}, fmt.Errorf("files entry %q: want SRC:DEST", s)
	}
	if strings.ContainsAny(s, "\x00\n\r") {
		return Mapping{}, fmt.Errorf("files entry %q: contains a control character", s)
	}
	if filepath.IsAbs(src) || !filepath.IsLocal(filepath.Clean(src)) && filepath.Clean(src) != "." {
		return Mapping{}, fmt.Errorf("files entry %q: %w: %q must be a path inside the context", s, ErrEscapesContext, src)
	}
	if !path.IsAbs(dest) {
		return Mapping{}, fmt.Errorf("files entry %q: destination %q must be absolute", s, dest)
	}
	clean := path.Clean(dest)
	if strings.HasSuffix(dest, "/") && clean != "/" {
		clean += "/"
	}
	return Mapping{Src: filepath.Clean(src), Dest: clean}, nil
}

// entryKind is the type of a layer entry.
type entryKind byte

const (
	kindDir entryKind = iota
	kindFile
	kindSymlink
)

// entry is one file of the image-to-be: where it goes and where it comes
// from. The stat fields identify the source's state for the layer cache.
type entry struct {
	name string // tar name: no leading "/", directories end in "/"
	kind entryKind
	mode int64  // normalised permission bits
	src  string // the source's path: root joined with rel
	// root is the context directory (symbolic links resolved) and rel the
	// source's path inside it: a file is opened again through root when
	// its bytes are written, never through a link that leads out.
	root, rel string
	size      int64
	link      string
	// state of the source when scanned (modification and change time, inode)
	mtime, ctime int64
	ino, dev     uint64
}

// scan resolves the mappings against the context directory and returns
// the entries sorted by name. Sources must exist and resolve, through any
// symbolic links, to paths inside the context. Symbolic links found while
// walking a directory are kept as links and never followed.
func scan(contextDir string, mappings []Mapping) ([]entry, error) {
	root, err := filepath.Abs(contextDir)
	if err == nil {
		root, err = filepath.EvalSymlinks(root)
	}
	if err != nil {
		return nil, fmt.Errorf("resolving context %q: %w", contextDir, err)
	}
	if len(mappings) == 0 {
		mappings = DefaultMapping
	}
	byName := map[string]entry{}
	add := func(e entry, m Mapping) error {
		if old, ok := byName[e.name]; ok && !(old.kind == kindDir && e.kind == kindDir) {
			return fmt.Errorf("files entry %q: %q is also given by another source (%s)", m, "/"+strings.TrimSuffix(e.name, "/"), old.src)
		}
		byName[e.name] = e
		return nil
	}
	for _, m := range mappings {
		if err := scanMapping(root, m, len(mappings) == 1 && m == DefaultMapping[0], add); err != nil {
			return nil, err
		}
	}
	entries := make([]entry, 0, len(byName))
	for _, e := range byName {
		entries = append(entries, e)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	return entries, nil
}

func scanMapping(root string, m Mapping, skipGit bool, add func(entry, Mapping) error) error {
	if filepath.IsAbs(m.Src) || !filepath.IsLocal(m.Src) && m.Src != "." {
		return fmt.Errorf("files entry %q: %w", m, ErrEscapesContext)
	}
	src, err := filepath.EvalSymlinks(filepath.Join(root, m.Src))
	if err != nil {
		return fmt.Errorf("files entry %q: %w", m, err)
	}
	srcRel, err := filepath.Rel(root, src)
	if err != nil || !filepath.IsLocal(srcRel) && srcRel != "." {
		return fmt.Errorf("files entry %q: %w: %q resolves to %q", m, ErrEscapesContext, m.Src, src)
	}
	info, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("files entry %q: %w", m, err)
	}
	// Everything below is read through the context's os.Root: a directory
	// swapped for a link out of the context while it is walked is refused,
	// never listed (the files under it would be refused when written, but
	// the names and link targets of the tree it leads to would not).
	r, err := os.OpenRoot(root)
	if err != nil {
		return fmt.Errorf("files entry %q: %w", m, err)
	}
	defer r.Close()
	dest := strings.TrimPrefix(m.Dest, "/")
	if !info.IsDir() {
		if strings.HasSuffix(m.Dest, "/") || dest == "" {
			dest = path.Join(dest, filepath.Base(src))
		}
		e, err := newEntry(r, root, srcRel, dest, info)
		if err != nil {
			return fmt.Errorf("files entry %q: %w", m, err)
		}
		return add(e, m)
	}
	return fs.WalkDir(r.FS(), filepath.ToSlash(srcRel), func(fp string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("files entry %q: %w", m, err)
		}
		rel, _ := filepath.Rel(srcRel, filepath.FromSlash(fp))
		if skipGit && rel == ".git" && d.IsDir() {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("files entry %q: %w", m, err)
		}
		name := path.Join(dest, filepath.ToSlash(rel))
		if name == "" || name == "." {
			return nil // the image root itself
		}
		e, err := newEntry(r, root, filepath.FromSlash(fp), name, info)
		if err != nil {
			return fmt.Errorf("files entry %q: %w", m, err)
		}
		return add(e, m)
	})
}

// newEntry describes one source file, at rel in the context root (open as
// r). Modes are normalised: directories 0755, files 0755 when any execute
// bit is set else 0644, links 0777.
func newEntry(r *os.Root, root, rel, name string, info fs.FileInfo) (entry, error) {
	src := filepath.Join(root, rel)
	e := entry{name: name, src: src, root: root, rel: rel, mtime: info.ModTime().UnixNano()}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		e.ctime = st.Ctim.Nano()
		e.ino = st.Ino
		e.dev = st.Dev
	}
	switch mode := info.Mode(); {
	case mode.IsDir():
		e.kind, e.mode, e.name = kindDir, 0o755, name+"/"
	case mode.IsRegular():
		e.kind, e.mode, e.size = kindFile, 0o644, info.Size()
		if mode.Perm()&0o111 != 0 {
			e.mode = 0o755
		}
	case mode&fs.ModeSymlink != 0:
		// Read through the context's root, as the walk is: a directory
		// above it swapped for a link meanwhile leads nowhere.
		link, err := r.Readlink(rel)
		if err != nil {
			return entry{}, err
		}
		e.kind, e.mode, e.link = kindSymlink, 0o777, link
	default:
		return entry{}, fmt.Errorf("%q: %w: %s", src, errors.ErrUnsupported, mode.Type())
	}
	return e, nil
}
