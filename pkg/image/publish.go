package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
)

// Result describes a published image, for outputs and step summaries.
type Result struct {
	// Repository is where the image went: "ghcr.io/acme/app", or the OCI
	// layout directory.
	Repository string
	// Digest is the digest of the pushed manifest or index.
	Digest v1.Hash
	// ImageRef is Repository@Digest (empty for an OCI layout).
	ImageRef string
	// MediaType of the top manifest: an image manifest or an index.
	MediaType types.MediaType
	// Tags the image was pushed with.
	Tags []string
	// Images holds one entry per platform.
	Images []PlatformImage
	// Layers are the layers made from context files, shared by all
	// platforms (empty for a Dockerfile build).
	Layers []Layer
	// Size is the total size of the distinct blobs and manifests the image
	// is made of.
	Size int64
	// BytesUploaded counts request bodies actually sent, retries included;
	// 0 for an OCI layout.
	BytesUploaded int64
	Timings       Timings
}

// PlatformImage is one platform's image in a Result.
type PlatformImage struct {
	Platform string // "linux/amd64"
	Digest   v1.Hash
	Size     int64 // manifest, config and layers
	Layers   []Layer
}

// Layer is one layer in a Result.
type Layer struct {
	Digest    v1.Hash
	Size      int64 // compressed bytes
	MediaType types.MediaType
	// FromBase is true for the base image's layers.
	FromBase bool
	// Uploaded is true when this run sent the layer's bytes; false when
	// the destination already had it. Always false for base layers.
	Uploaded bool
	// Files is the number of files and links in a context layer.
	Files int
}

// Timings break down where the time went.
type Timings struct {
	Build  time.Duration // validation, scanning and base resolution
	Layers time.Duration // compressing and uploading the context layers
	Push   time.Duration // everything else: base layers, configs, manifests, tags
}

// sink is where layers and manifests go: a registry or an OCI layout.
type sink interface {
	// writeLayer stores one context layer, whose digest is known, unless
	// the destination has it already.
	writeLayer(ctx context.Context, l v1.Layer) error
	// writeTop stores the image or index under the given tags.
	writeTop(ctx context.Context, top partial.WithRawManifest, tags []string) error
}

// Push uploads the image to repo with every tag, sending only the context
// layers that the registry lacks, and returns what it pushed. With no tags the
// image is pushed by digest only.
func (b *Builder) Push(ctx context.Context, img *Image, repo string, tags []string) (*Result, error) {
	for _, t := range tags {
		if err := ValidateTag(t); err != nil {
			return nil, specErr("tags", err)
		}
	}
	r, err := b.parseRepository(repo)
	if err != nil {
		return nil, specErr("image", err)
	}
	counter := &countingTransport{inner: b.o.transport}
	opts := b.remoteOptions(ctx, counter)
	pusher, err := remote.NewPusher(opts...)
	if err != nil {
		return nil, err
	}
	s := &remoteSink{pusher: pusher, repo: r, reporter: b.o.reporter}
	res, err := b.publish(ctx, img, s, tags)
	if err != nil {
		return nil, fmt.Errorf("pushing to %q: %w", r.String(), classify(err))
	}
	res.Repository = r.String()
	res.ImageRef = r.Digest(res.Digest.String()).String()
	res.BytesUploaded = counter.sent.Load()
	return res, nil
}

// publish writes the context layers, then the images, to a sink.
func (b *Builder) publish(ctx context.Context, img *Image, s sink, tags []string) (*Result, error) {
	res := &Result{Tags: append([]string(nil), tags...)}
	res.Timings.Build = img.buildTime
	start := b.o.now()
	uploaded, err := b.writeLayers(ctx, img, s)
	if err != nil {
		return nil, err
	}
	res.Timings.Layers = b.o.now().Sub(start)
	start = b.o.now()
	a, err := img.assemble()
	if err != nil {
		return nil, err
	}
	if err := s.writeTop(ctx, a.top, tags); err != nil {
		return nil, err
	}
	res.Timings.Push = b.o.now().Sub(start)
	if err := describe(res, img, a, uploaded); err != nil {
		return nil, err
	}
	return res, nil
}

// writeLayers puts the context layers in place and returns which ones were
// actually uploaded. Each is offered by digest, so the destination can say
// it has it: the digest comes from the layer cache, or from compressing
// the layer into a temporary file first (on a fresh machine the cache is
// empty, but the registry may well have the blob from an earlier run).
// Compression is CPU-bound, so at most one layer per CPU compresses at
// once (and no more than jobs): each finishes sooner and its upload
// overlaps the next one's compression, rather than all finishing together
// and uploading in a bunch at the end. Up to jobs layers upload at once.
func (b *Builder) writeLayers(ctx context.Context, img *Image, s sink) ([]bool, error) {
	cached := make([]bool, len(img.layers))
	for i, l := range img.layers {
		if sums, ok := b.cache.get(l.key); ok {
			l.mu.Lock()
			l.sums = sums
			l.mu.Unlock()
			cached[i] = true
			b.o.reporter.Report(Event{Kind: EventLayerCached, Digest: sums.Digest, Bytes: sums.Size})
		}
	}
	var tmp string
	if slices.Contains(cached, false) {
		var err error
		if tmp, err = os.MkdirTemp(b.o.tempDir, "build-push-"); err != nil {
			return nil, fmt.Errorf("making a directory for compressed layers: %w", err)
		}
		defer os.RemoveAll(tmp)
	}
	uploaded := make([]bool, len(img.layers))
	compressing := semaphore.NewWeighted(int64(min(b.o.jobs, runtime.GOMAXPROCS(0))))
	writing := semaphore.NewWeighted(int64(b.o.jobs))
	g, gctx := errgroup.WithContext(ctx)
	for i, l := range img.layers {
		g.Go(func() error {
			var layer v1.Layer = l
			if !cached[i] {
				if err := compressing.Acquire(gctx, 1); err != nil {
					return err
				}
				sp, err := l.spool(gctx, tmp)
				compressing.Release(1)
				if err != nil {
					return err
				}
				defer os.Remove(sp.path)
				layer = sp
			}
			if err := writing.Acquire(gctx, 1); err != nil {
				return err
			}
			defer writing.Release(1)
			var err error
			uploaded[i], err = b.writeLayer(gctx, s, l, layer)
			return err
		})
	}
	return uploaded, g.Wait()
}

// writeLayer hands one layer (l, or l spooled to a file) to the sink and
// records its sums in the cache. It reports whether the bytes were sent.
func (b *Builder) writeLayer(ctx context.Context, s sink, l *fileLayer, layer v1.Layer) (bool, error) {
	w := &watchedLayer{Layer: layer}
	if err := s.writeLayer(ctx, w); err != nil {
		if errors.Is(err, errLayerChanged) {
			b.cache.drop(l.key)
		}
		return false, err
	}
	sums, err := l.known()
	if err != nil {
		return false, err
	}
	b.cache.put(l.key, sums)
	sent := w.opened.Load()
	b.o.reporter.Report(Event{Kind: EventLayerPushed, Digest: sums.Digest, Bytes: sums.Size, Uploaded: sent})
	return sent, nil
}

// watchedLayer records whether a layer's bytes were read.
type watchedLayer struct {
	v1.Layer
	opened atomic.Bool
}

func (w *watchedLayer) Compressed() (io.ReadCloser, error) {
	w.opened.Store(true)
	return w.Layer.Compressed()
}
