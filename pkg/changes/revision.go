// Package changes tells what changed between the stable and the candidate
// images of a rollout, for the report of an abort or a rollback: the
// commits they were built from, read from their OCI labels, and, with a
// GitHub token, the commits and pull requests between them.
package changes

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fxplatform/deploy-actions/pkg/image"
)

// Revision is what an image's labels say of the commit it was built
// from.
type Revision struct {
	Image string // the reference read
	// Revision is the org.opencontainers.image.revision label, the commit
	// SHA for images build-push made; "" when the label is missing.
	Revision string
	// Source is the org.opencontainers.image.source label, the
	// repository's URL; "" when the label is missing.
	Source string
}

// Known reports whether the image names its revision.
func (r Revision) Known() bool { return r.Revision != "" }

// ReadRevision reads the revision and source labels of ref, usually
// repo@sha256:digest (a tag is read as well), through r: its keychain,
// its plain-HTTP hosts and its retries, within ctx. A missing label is no
// error. Of an index, the labels are those of its linux/amd64 image, else
// of its first image for a known platform: build-push writes the same
// labels on every platform, and attestation manifests (platform
// unknown/unknown) have none.
func ReadRevision(ctx context.Context, ref string, r image.Remote) (Revision, error) {
	rev := Revision{Image: ref}
	parsed, err := name.ParseReference(ref)
	if err != nil {
		return rev, fmt.Errorf("parsing image reference %q: %w", ref, err)
	}
	if opts := r.NameOptions(parsed.Context().RegistryStr()); len(opts) > 0 {
		if parsed, err = name.ParseReference(ref, opts...); err != nil {
			return rev, fmt.Errorf("parsing image reference %q: %w", ref, err)
		}
	}
	desc, err := remote.Get(parsed, r.Options(ctx)...)
	if err != nil {
		return rev, fmt.Errorf("reading %q: %w", ref, err)
	}
	var img v1.Image
	if desc.MediaType.IsIndex() {
		img, err = platformImage(desc)
	} else {
		img, err = desc.Image()
	}
	if err != nil {
		return rev, fmt.Errorf("reading image %q: %w", ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return rev, fmt.Errorf("reading the config of %q: %w", ref, err)
	}
	rev.Revision = cf.Config.Labels[image.LabelRevision]
	rev.Source = cf.Config.Labels[image.LabelSource]
	return rev, nil
}

// platformImage picks the image of an index whose labels stand for all:
// linux/amd64, else the first image whose platform is known.
func platformImage(desc *remote.Descriptor) (v1.Image, error) {
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	amd64 := v1.Platform{OS: "linux", Architecture: "amd64"}
	for _, d := range m.Manifests {
		if d.MediaType.IsImage() && d.Platform != nil && d.Platform.Satisfies(amd64) {
			return idx.Image(d.Digest)
		}
	}
	for _, d := range m.Manifests {
		if d.MediaType.IsImage() && (d.Platform == nil || d.Platform.OS != "unknown") {
			return idx.Image(d.Digest)
		}
	}
	return nil, errors.New("the index has no image")
}
