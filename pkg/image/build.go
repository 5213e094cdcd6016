package image

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Builder builds images and publishes them. It is safe for concurrent use.
type Builder struct {
	o     *options
	cache layerCache
}

// NewBuilder returns a Builder configured by opts.
func NewBuilder(opts ...Option) (*Builder, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	return &Builder{o: o, cache: layerCache{dir: o.cacheDir}}, nil
}

// Image is a built image, not yet published: its base images are resolved
// and its layers planned, but layer bytes are produced only when Push or
// WriteLayout needs them.
type Image struct {
	spec      Spec
	platforms []v1.Platform
	bases     []v1.Image // one per platform
	baseName  string     // "" for scratch
	baseHash  v1.Hash
	layers    []*fileLayer // every layer made from the context, once
	// platformLayers are the indexes in layers of each platform's layers.
	platformLayers [][]int
	fileBytes      int64
	buildTime      time.Duration
	cleanup        func() error
}

// Close removes temporary files of a Dockerfile build; it is a no-op
// otherwise.
func (img *Image) Close() error {
	if img.cleanup == nil {
		return nil
	}
	return img.cleanup()
}

// Build validates spec, resolves its base image (reading manifests, not
// layers) and plans the layers. Nothing is uploaded.
func (b *Builder) Build(ctx context.Context, spec Spec) (*Image, error) {
	start := b.o.now()
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if spec.Dockerfile != "" {
		return b.buildDockerfile(ctx, spec, start)
	}
	sets, err := spec.scanFiles()
	if err != nil {
		return nil, specErr("files", err)
	}
	img := &Image{spec: spec}
	for _, entries := range sets {
		for _, e := range entries {
			img.fileBytes += e.size
		}
	}
	b.o.reporter.Report(Event{Kind: EventFilesScanned, Message: spec.contextDir(), Bytes: img.fileBytes})
	if err := b.resolveBase(ctx, img); err != nil {
		return nil, err
	}
	mt := types.OCILayer
	if len(img.bases) > 0 {
		if m, err := img.bases[0].MediaType(); err == nil && m == types.DockerManifestSchema2 {
			mt = types.DockerLayer
		}
	}
	modTime := time.Unix(0, 0).UTC()
	if !spec.FileTime.IsZero() {
		modTime = spec.FileTime.UTC()
	}
	// Every platform gets the same layers, unless its files are its own;
	// a layer two platforms share (the same files) is made once.
	byKey := map[string]int{}
	img.platformLayers = make([][]int, len(img.platforms))
	for i := range img.platforms {
		if len(sets) == 1 && i > 0 {
			img.platformLayers[i] = img.platformLayers[0]
			continue
		}
		entries := sets[min(i, len(sets)-1)]
		var size int64
		for _, e := range entries {
			size += e.size
		}
		for _, es := range splitLayers(entries, layerCount(spec.Layers, size)) {
			l := newFileLayer(es, modTime, b.o.level, mt)
			at, ok := byKey[l.key]
			if !ok {
				at = len(img.layers)
				byKey[l.key] = at
				img.layers = append(img.layers, l)
			}
			img.platformLayers[i] = append(img.platformLayers[i], at)
		}
	}
	img.buildTime = b.o.now().Sub(start)
	return img, nil
}

// layerCount is the number of layers for files of total size bytes.
func layerCount(n int, bytes int64) int {
	const per, most = 32 << 20, 8
	if n > 0 {
		return n
	}
	return int(min(max((bytes+per-1)/per, 1), most))
}

// parseReference parses an image or repository reference, marking hosts
// given to WithInsecureRegistries as plain HTTP.
func (b *Builder) parseReference(s string) (name.Reference, error) {
	ref, err := name.ParseReference(s)
	if err != nil {
		return nil, err
	}
	if b.o.insecure[ref.Context().RegistryStr()] {
		ref, err = name.ParseReference(s, name.Insecure)
	}
	return ref, err
}

// parseRepository parses a repository reference ("ghcr.io/acme/app"),
// refusing a tag or digest, and marking insecure hosts as plain HTTP.
func (b *Builder) parseRepository(s string) (name.Repository, error) {
	r, err := name.NewRepository(s)
	if err != nil {
		return name.Repository{}, fmt.Errorf("%q: want a repository such as ghcr.io/owner/name, without tag or digest: %w", s, err)
	}
	if b.o.insecure[r.RegistryStr()] {
		r, err = name.NewRepository(s, name.Insecure)
	}
	return r, err
}

// resolveBase fills the platforms and per-platform base images.
func (b *Builder) resolveBase(ctx context.Context, img *Image) error {
	spec := img.spec
	if spec.isScratch() {
		img.platforms = spec.Platforms
		if len(img.platforms) == 0 {
			img.platforms = []v1.Platform{{OS: "linux", Architecture: "amd64"}}
		}
		base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
		for range img.platforms {
			img.bases = append(img.bases, base)
		}
		return nil
	}
	ref, err := b.parseReference(spec.Base)
	if err != nil {
		return specErr("base", err)
	}
	desc, err := remote.Get(ref, b.remoteOptions(ctx, b.o.transport)...)
	if err != nil {
		return fmt.Errorf("fetching base %q: %w", spec.Base, classify(err))
	}
	img.baseName, img.baseHash = ref.String(), desc.Digest
	b.o.reporter.Report(Event{Kind: EventBaseResolved, Message: ref.String(), Digest: desc.Digest})
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return fmt.Errorf("reading base index %q: %w", spec.Base, err)
		}
		return pickFromIndex(img, idx)
	}
	base, err := desc.Image()
	if err != nil {
		return fmt.Errorf("reading base %q: %w", spec.Base, err)
	}
	cfg, err := base.ConfigFile()
	if err != nil {
		return fmt.Errorf("reading config of base %q: %w", spec.Base, classify(err))
	}
	have := cfg.Platform()
	if have == nil {
		have = &v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}
	}
	switch {
	case len(spec.Platforms) == 0:
		img.platforms = []v1.Platform{*have}
	case len(spec.Platforms) == 1 && platformMatches(spec.Platforms[0], *have):
		img.platforms = []v1.Platform{*have}
	default:
		return specErr("platforms", fmt.Errorf("%w: %q is a single image for %s", ErrPlatformNotInBase, spec.Base, platformString(*have)))
	}
	img.bases = []v1.Image{base}
	return nil
}

// pickFromIndex selects the requested platforms of a base index, or all of
// its platforms (attestation manifests, platform unknown/unknown, left out).
func pickFromIndex(img *Image, idx v1.ImageIndex) error {
	im, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("reading base index %q: %w", img.spec.Base, err)
	}
	var avail []v1.Descriptor
	var names []string
	for _, d := range im.Manifests {
		if d.Platform == nil || d.Platform.OS == "unknown" || !d.MediaType.IsImage() {
			continue
		}
		avail = append(avail, d)
		names = append(names, platformString(*d.Platform))
	}
	chosen := avail
	if len(img.spec.Platforms) > 0 {
		chosen = nil
		for _, want := range img.spec.Platforms {
			var match []v1.Descriptor
			for _, d := range avail {
				if platformMatches(want, *d.Platform) {
					match = append(match, d)
				}
			}
			if len(match) != 1 {
				why := "not in"
				if len(match) > 1 {
					why = "ambiguous in"
				}
				return specErr("platforms", fmt.Errorf("%w: %s is %s base %q, which has %s", ErrPlatformNotInBase,
					platformString(want), why, img.spec.Base, strings.Join(names, ", ")))
			}
			chosen = append(chosen, match[0])
		}
	}
	if len(chosen) == 0 {
		return specErr("base", fmt.Errorf("%w: base %q lists no image platforms", ErrPlatformNotInBase, img.spec.Base))
	}
	for _, d := range chosen {
		base, err := idx.Image(d.Digest)
		if err != nil {
			return fmt.Errorf("reading base %q for %s: %w", img.spec.Base, platformString(*d.Platform), classify(err))
		}
		img.platforms = append(img.platforms, *d.Platform)
		img.bases = append(img.bases, base)
	}
	return nil
}

// removeAll is os.RemoveAll as a cleanup function.
func removeAll(dir string) func() error { return func() error { return os.RemoveAll(dir) } }
