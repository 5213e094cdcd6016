package scan

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// DefaultPlatform is the platform scanned when the image is an index and
// the caller names none.
var DefaultPlatform = v1.Platform{OS: "linux", Architecture: "amd64"}

// OpenRemote returns the image ref (which must name a digest) from its
// registry. Only manifests are read here; layers are streamed by Inventory.
// For an index, the image for platform is picked.
func OpenRemote(ctx context.Context, ref name.Digest, platform v1.Platform, opts ...remote.Option) (v1.Image, error) {
	opts = append(opts, remote.WithContext(ctx), remote.WithPlatform(platform))
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", ref, err)
	}
	img, err := desc.Image() // picks platform from an index
	if err != nil {
		return nil, fmt.Errorf("reading image %q for %s: %w", ref, platform.String(), err)
	}
	return img, nil
}

// OpenLayout returns the image of an OCI layout directory: the one with
// digest when it is set, else the only image in the layout (an index with
// several platforms gives the one for platform).
func OpenLayout(path, digest string, platform v1.Platform) (v1.Image, error) {
	lp, err := layout.FromPath(path)
	if err != nil {
		return nil, fmt.Errorf("opening OCI layout %q: %w", path, err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %q: %w", path, err)
	}
	return pickImage(idx, digest, platform, path)
}

// OpenTarball returns the image in a docker save / crane tarball.
func OpenTarball(path string) (v1.Image, error) {
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		return nil, fmt.Errorf("reading image tarball %q: %w", path, err)
	}
	return img, nil
}

func pickImage(idx v1.ImageIndex, digest string, platform v1.Platform, where string) (v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading index of %q: %w", where, err)
	}
	for _, d := range m.Manifests {
		if digest != "" && d.Digest.String() != digest {
			continue
		}
		switch {
		case d.MediaType.IsImage():
			if digest != "" || len(m.Manifests) == 1 || d.Platform == nil || d.Platform.Satisfies(platform) {
				return idx.Image(d.Digest)
			}
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("reading index %s of %q: %w", d.Digest, where, err)
			}
			return pickImage(child, "", platform, where)
		}
	}
	if digest != "" {
		return nil, fmt.Errorf("%q has no manifest %s", where, digest)
	}
	return nil, fmt.Errorf("%q has no image for %s", where, platform.String())
}
