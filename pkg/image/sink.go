package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// remoteSink pushes to a registry repository with go-containerregistry's
// Pusher, which skips blobs the registry has (HEAD by digest).
type remoteSink struct {
	pusher   *remote.Pusher
	repo     name.Repository
	reporter Reporter
}

func (s *remoteSink) writeLayer(ctx context.Context, l v1.Layer) error {
	return s.pusher.Upload(ctx, s.repo, l)
}

func (s *remoteSink) writeTop(ctx context.Context, top partial.WithRawManifest, tags []string) error {
	d, err := partial.Digest(top)
	if err != nil {
		return err
	}
	if len(tags) == 0 {
		return s.pusher.Push(ctx, s.repo.Digest(d.String()), top)
	}
	// The first push uploads everything; later tags only put the manifest.
	for _, t := range tags {
		if err := s.pusher.Push(ctx, s.repo.Tag(t), top); err != nil {
			return fmt.Errorf("tagging %q: %w", t, err)
		}
		s.reporter.Report(Event{Kind: EventTagPushed, Message: t, Digest: d})
	}
	return nil
}

// layoutSink writes an OCI image layout directory. Tags become
// org.opencontainers.image.ref.name annotations in index.json, which
// skopeo's oci:DIR:TAG and other tools read.
type layoutSink struct {
	path layout.Path
}

func openLayout(dir string) (layout.Path, error) {
	if p, err := layout.FromPath(dir); err == nil {
		return p, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return layout.Write(dir, empty.Index)
}

// writeLayer copies a layer into blobs/sha256 through a temporary file,
// named by its digest once complete. A blob already there is kept.
func (s *layoutSink) writeLayer(ctx context.Context, l v1.Layer) error {
	d, err := l.Digest()
	if err != nil {
		return err
	}
	size, err := l.Size()
	if err != nil {
		return err
	}
	dir := filepath.Join(string(s.path), "blobs", "sha256")
	if fi, err := os.Stat(filepath.Join(dir, d.Hex)); err == nil && fi.Size() == size {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(dir, ".partial-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, &ctxReader{ctx: ctx, r: rc})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, d.Hex))
}

func (s *layoutSink) writeTop(ctx context.Context, top partial.WithRawManifest, tags []string) error {
	const refName = "org.opencontainers.image.ref.name"
	if len(tags) == 0 {
		tags = []string{""}
	}
	for _, t := range tags {
		var opts []layout.Option
		matcher := func(v1.Descriptor) bool { return false }
		if t != "" {
			opts = append(opts, layout.WithAnnotations(map[string]string{refName: t}))
			matcher = match.Annotation(refName, t)
		}
		var err error
		switch top := top.(type) {
		case v1.ImageIndex:
			err = s.path.ReplaceIndex(top, matcher, opts...)
		case v1.Image:
			err = s.path.ReplaceImage(top, matcher, opts...)
		default:
			err = errors.New("nothing to write")
		}
		if err != nil {
			return fmt.Errorf("writing OCI layout %q: %w", s.path, err)
		}
	}
	return nil
}

// ctxReader stops a copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// WriteLayout writes the image to an OCI image layout directory (created
// if needed) instead of a registry, with tags as ref.name annotations.
func (b *Builder) WriteLayout(ctx context.Context, img *Image, dir string, tags []string) (*Result, error) {
	for _, t := range tags {
		if err := ValidateTag(t); err != nil {
			return nil, specErr("tags", err)
		}
	}
	p, err := openLayout(dir)
	if err != nil {
		return nil, specErr("oci-layout-path", err)
	}
	res, err := b.publish(ctx, img, &layoutSink{path: p}, tags)
	if err != nil {
		return nil, fmt.Errorf("writing OCI layout %q: %w", dir, classify(err))
	}
	res.Repository = dir
	return res, nil
}
