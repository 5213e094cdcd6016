package image

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"os"
	"path"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/stream"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
)

// layerFormat names everything that decides a layer's bytes besides its
// entries and level: the tar layout and the gzip encoder's version. It is
// part of the cache key, so a new encoder never reuses old digests.
var layerFormat = "deploy-actions/layer/v1 " + moduleVersion("github.com/klauspost/compress")

// moduleVersion is the version of a module linked into this binary.
func moduleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == path {
				if m.Replace != nil {
					m = m.Replace
				}
				return m.Path + "@" + m.Version
			}
		}
	}
	return path + "@unknown"
}

// fileLayer is a layer made from context files. Its bytes are produced on
// demand, tar and gzip streaming into the reader, so no layer is held in
// memory. Its digest is known either from the layer cache or once a first
// read of the compressed stream has finished (see spool); before that
// Digest, DiffID and Size return stream.ErrNotComputed.
type fileLayer struct {
	entries   []entry
	modTime   time.Time
	level     int
	mediaType types.MediaType
	key       string // cache key of this layer's content

	mu   sync.Mutex
	sums *layerSums // nil until known
}

// errLayerChanged is a layer whose bytes differ from the digest recorded
// for it: a file changed during the build, or a stale cache entry.
var errLayerChanged = errors.New("layer content changed while building (files modified during the build?)")

// layerSums are the identifying numbers of a layer.
type layerSums struct {
	Digest v1.Hash `json:"digest"`
	DiffID v1.Hash `json:"diffID"`
	Size   int64   `json:"size"`
}

var _ v1.Layer = (*fileLayer)(nil)

func newFileLayer(entries []entry, modTime time.Time, level int, mt types.MediaType) *fileLayer {
	l := &fileLayer{entries: entries, modTime: modTime, level: level, mediaType: mt}
	l.key = l.cacheKey()
	return l
}

func (l *fileLayer) known() (*layerSums, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sums == nil {
		return nil, fmt.Errorf("layer of %d entries: %w", len(l.entries), stream.ErrNotComputed)
	}
	return l.sums, nil
}

// Digest implements v1.Layer.
func (l *fileLayer) Digest() (v1.Hash, error) {
	s, err := l.known()
	if err != nil {
		return v1.Hash{}, err
	}
	return s.Digest, nil
}

// DiffID implements v1.Layer.
func (l *fileLayer) DiffID() (v1.Hash, error) {
	s, err := l.known()
	if err != nil {
		return v1.Hash{}, err
	}
	return s.DiffID, nil
}

// Size implements v1.Layer.
func (l *fileLayer) Size() (int64, error) {
	s, err := l.known()
	if err != nil {
		return 0, err
	}
	return s.Size, nil
}

// MediaType implements v1.Layer.
func (l *fileLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }

// Uncompressed implements v1.Layer: the tar stream.
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(l.writeTar(pw)) }()
	return pr, nil
}

// Compressed implements v1.Layer: the gzip stream, produced by a goroutine
// as the caller reads. When the stream ends, the sums are recorded, or
// checked against those already known: a mismatch (a file changed during
// the build, or a stale cache entry) fails the read instead of publishing
// a blob under the wrong digest.
func (l *fileLayer) Compressed() (io.ReadCloser, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(l.produce(pw)) }()
	return pr, nil
}

func (l *fileLayer) produce(w io.Writer) error {
	diffID, digest := sha256.New(), sha256.New()
	counter := &countWriter{}
	bw := bufio.NewWriterSize(w, 256<<10)
	zw, err := gzip.NewWriterLevel(io.MultiWriter(bw, digest, counter), l.level)
	if err != nil {
		return err
	}
	if err := l.writeTar(io.MultiWriter(zw, diffID)); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	got := &layerSums{Digest: sum(digest), DiffID: sum(diffID), Size: counter.n}
	if err := l.record(got); err != nil {
		return err
	}
	return bw.Flush()
}

// record stores the sums of a complete stream, or checks them.
func (l *fileLayer) record(got *layerSums) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sums == nil {
		l.sums = got
		return nil
	}
	if *l.sums != *got {
		return fmt.Errorf("%w: digest %s, expected %s", errLayerChanged, got.Digest, l.sums.Digest)
	}
	return nil
}

// spool compresses the layer into a new file in dir, learning its sums on
// the way, and returns the layer read back from that file. Knowing the
// digest before the upload lets the registry say it has the blob already,
// which a stream cannot: its digest is known only at the end. The caller
// removes the file.
func (l *fileLayer) spool(ctx context.Context, dir string) (*spooledLayer, error) {
	f, err := os.CreateTemp(dir, "layer-*.tar.gz")
	if err != nil {
		return nil, err
	}
	err = l.produce(&ctxWriter{ctx: ctx, w: f})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return nil, fmt.Errorf("compressing layer of %d entries: %w", len(l.entries), err)
	}
	return &spooledLayer{fileLayer: l, path: f.Name()}, nil
}

// spooledLayer is a fileLayer whose compressed bytes are in a file.
type spooledLayer struct {
	*fileLayer
	path string
}

// Compressed implements v1.Layer: the file, opened anew for each attempt.
func (s *spooledLayer) Compressed() (io.ReadCloser, error) { return os.Open(s.path) }

// ctxWriter stops a write when the context ends.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

func sum(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// writeTar writes the layer's tar stream: entries in name order, owned by
// root, with the layer's fixed modification time.
func (l *fileLayer) writeTar(w io.Writer) error {
	tw := tar.NewWriter(w)
	roots := map[string]*os.Root{}
	defer func() {
		for _, r := range roots {
			r.Close()
		}
	}()
	for _, e := range l.entries {
		hdr := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			ModTime: l.modTime,
			Format:  tar.FormatPAX,
		}
		switch e.kind {
		case kindDir:
			hdr.Typeflag = tar.TypeDir
		case kindSymlink:
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, e.link
		case kindFile:
			hdr.Typeflag, hdr.Size = tar.TypeReg, e.size
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing %q: %w", e.name, err)
		}
		if e.kind == kindFile {
			root, ok := roots[e.root]
			if !ok {
				var err error
				if root, err = os.OpenRoot(e.root); err != nil {
					return fmt.Errorf("opening the context %q: %w", e.root, err)
				}
				roots[e.root] = root
			}
			if err := copyFile(tw, root, e); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

// copyFile copies a source file into the tar stream. The file is opened
// again through root, so no symbolic link (the file, or a directory above
// it, swapped for one since the scan) leads out of the context, and it must
// be the file the scan found: the same device, inode, change time and size.
// Another file's bytes never go into the layer, and a file changed during
// the build never goes in under the cache key of its old state.
func copyFile(w io.Writer, root *os.Root, e entry) error {
	f, err := root.OpenFile(e.rel, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return fmt.Errorf("reading %q: %w (it was a regular file when the context was scanned)", e.src, err)
	}
	defer f.Close()
	if err := sameFile(f, e); err != nil {
		return fmt.Errorf("reading %q: %w", e.src, err)
	}
	n, err := io.Copy(w, io.LimitReader(f, e.size+1))
	if err == nil && n != e.size {
		err = fmt.Errorf("size changed from %d to %d bytes during the build", e.size, n)
	}
	if err == nil {
		// Written to while it was copied, at the same size: the layer
		// would hold bytes of no one state of the file.
		err = sameFile(f, e)
	}
	if errors.Is(err, tar.ErrWriteTooLong) {
		err = fmt.Errorf("grew beyond %d bytes during the build", e.size)
	}
	if err != nil {
		return fmt.Errorf("reading %q: %w", e.src, err)
	}
	return nil
}

// ErrReplaced is returned when a source file was replaced or changed
// between the scan of the context and the build of its layer.
var ErrReplaced = errors.New("replaced during the build")

// sameFile checks that f, just opened, is the regular file the scan
// recorded for e.
func sameFile(f *os.File, e entry) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%w: now a %s", ErrReplaced, info.Mode().Type())
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	switch {
	case !ok:
	case st.Dev != e.dev || st.Ino != e.ino:
		return fmt.Errorf("%w: another file (device %d, inode %d; scanned as %d, %d)", ErrReplaced, st.Dev, st.Ino, e.dev, e.ino)
	case st.Ctim.Nano() != e.ctime:
		return fmt.Errorf("%w: changed at %s, after the scan", ErrReplaced, time.Unix(0, st.Ctim.Nano()).UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// cacheKey identifies the layer's bytes: the format, compression, time and
// every entry with the state of its source (size, modification and change
// time, inode), as git's index does to detect changed files.
func (l *fileLayer) cacheKey() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00%d\n", layerFormat, l.level, l.mediaType, l.modTime.Unix())
	for _, e := range l.entries {
		fmt.Fprintf(h, "%q %d %o %q %d %q %d %d %d %d\n", e.name, e.kind, e.mode, e.src, e.size, e.link, e.mtime, e.ctime, e.ino, e.dev)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// splitLayers partitions entries into n layers by a hash of each name, so
// that a changed file changes one layer and the rest stay cached. Each
// layer carries the directories above its files, so it extracts alone; a
// directory with no files goes where its own name hashes.
func splitLayers(entries []entry, n int) [][]entry {
	buckets := make([][]entry, n)
	dirs := map[string]entry{}
	for _, e := range entries {
		if e.kind == kindDir {
			dirs[e.name] = e
		}
	}
	has := make([]map[string]bool, n)
	for i := range has {
		has[i] = map[string]bool{}
	}
	for _, e := range entries {
		if e.kind == kindDir {
			continue
		}
		i := bucketOf(e.name, n)
		buckets[i] = append(buckets[i], e)
		for d := parentDir(e.name); d != ""; d = parentDir(d) {
			has[i][d] = true
		}
	}
	used := map[string]bool{}
	for i := range has {
		for d := range has[i] {
			used[d] = true
		}
	}
	for name := range dirs {
		if !used[name] {
			i := bucketOf(name, n)
			for d := name; d != ""; d = parentDir(d) {
				has[i][d] = true
			}
		}
	}
	for i := range buckets {
		for d := range has[i] {
			e, ok := dirs[d]
			if !ok { // a parent the mappings create implicitly
				e = entry{name: d, kind: kindDir, mode: 0o755}
			}
			buckets[i] = append(buckets[i], e)
		}
		sortEntries(buckets[i])
	}
	out := buckets[:0]
	for _, b := range buckets {
		if len(b) > 0 {
			out = append(out, b)
		}
	}
	return out
}

func bucketOf(name string, n int) int {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int(h.Sum64() % uint64(n))
}

// parentDir returns "a/b/" for "a/b/c" or "a/b/c/", and "" at the top.
func parentDir(name string) string {
	d := path.Dir(strings.TrimSuffix(name, "/"))
	if d == "." || d == "/" {
		return ""
	}
	return d + "/"
}

func sortEntries(es []entry) {
	sort.Slice(es, func(i, j int) bool { return es[i].name < es[j].name })
}
