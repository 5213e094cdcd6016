package image

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The OCI label keys build-push sets on every image.
const (
	LabelSource   = "org.opencontainers.image.source"
	LabelRevision = "org.opencontainers.image.revision"
	LabelVersion  = "org.opencontainers.image.version"
	LabelCreated  = "org.opencontainers.image.created"
)

// assembled is what gets published: one image, or an index of images.
type assembled struct {
	top    partial.WithRawManifest // v1.Image or v1.ImageIndex
	images []v1.Image
}

// assemble builds the final images once every layer's digest is known.
func (img *Image) assemble() (*assembled, error) {
	out := &assembled{}
	for i, base := range img.bases {
		one, err := img.assembleOne(i, base)
		if err != nil {
			return nil, fmt.Errorf("assembling %s image: %w", platformString(img.platforms[i]), err)
		}
		out.images = append(out.images, one)
	}
	if len(out.images) == 1 {
		out.top = out.images[0]
		return out, nil
	}
	mt := types.OCIImageIndex
	if m, _ := out.images[0].MediaType(); m == types.DockerManifestSchema2 {
		mt = types.DockerManifestList
	}
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, mt)
	for i, one := range out.images {
		p := img.platforms[i]
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: plainImage{one}, Descriptor: v1.Descriptor{Platform: &p}})
	}
	if anns := img.annotations(); len(anns) > 0 && mt == types.OCIImageIndex {
		idx = mutate.Annotations(idx, anns).(v1.ImageIndex)
	}
	out.top = idx
	return out, nil
}

func (img *Image) assembleOne(i int, base v1.Image) (v1.Image, error) {
	spec, p := img.spec, img.platforms[i]
	adds := make([]mutate.Addendum, 0, len(img.platformLayers[i]))
	for _, at := range img.platformLayers[i] {
		l := img.layers[at]
		adds = append(adds, mutate.Addendum{
			Layer:     l,
			MediaType: l.mediaType,
			History: v1.History{
				Created:   v1.Time{Time: spec.Created.UTC()},
				CreatedBy: "deploy-actions build-push",
				Comment:   fmt.Sprintf("%d files from the context", countFiles(l.entries)),
			},
		})
	}
	out, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, err
	}
	cfg, err := out.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	img.applyConfig(cfg, p)
	if out, err = mutate.ConfigFile(out, cfg); err != nil {
		return nil, err
	}
	if anns := img.annotations(); len(anns) > 0 {
		if m, _ := out.MediaType(); m != types.DockerManifestSchema2 {
			out = mutate.Annotations(out, anns).(v1.Image)
		}
	}
	return out, nil
}

// applyConfig sets the Spec's config fields, the OCI labels and, for
// scratch, the platform.
func (img *Image) applyConfig(cfg *v1.ConfigFile, p v1.Platform) {
	spec := img.spec
	if cfg.OS == "" {
		cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	}
	if cfg.RootFS.Type == "" {
		cfg.RootFS.Type = "layers"
	}
	cfg.Created = v1.Time{Time: spec.Created.UTC()}
	c := &cfg.Config
	if spec.Entrypoint != nil {
		c.Entrypoint = spec.Entrypoint
		c.Cmd = nil
	}
	if spec.Cmd != nil {
		c.Cmd = spec.Cmd
	}
	if spec.WorkingDir != "" {
		c.WorkingDir = spec.WorkingDir
	}
	if spec.User != "" {
		c.User = spec.User
	}
	c.Env = mergeEnv(c.Env, spec.Env)
	labels := map[string]string{LabelCreated: spec.Created.UTC().Format(time.RFC3339)}
	for k, v := range map[string]string{LabelSource: spec.Source, LabelRevision: spec.Revision, LabelVersion: spec.Version} {
		if v != "" {
			labels[k] = v
		}
	}
	c.Labels = merge(c.Labels, labels, spec.Labels)
	for _, port := range spec.Ports {
		p, _ := ParsePort(port) // validated by Spec.Validate
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		c.ExposedPorts[p] = struct{}{}
	}
}

// annotations are the manifest annotations: the Spec's, plus the base
// image's name and digest as the OCI image spec suggests.
func (img *Image) annotations() map[string]string {
	base := map[string]string{}
	if img.baseName != "" {
		base["org.opencontainers.image.base.name"] = img.baseName
		base["org.opencontainers.image.base.digest"] = img.baseHash.String()
	}
	return merge(nil, base, img.spec.Annotations)
}

// mergeEnv overlays KEY=VALUE pairs on a base environment, keeping the
// base's order and appending new keys in the order given.
func mergeEnv(base, over []string) []string {
	if len(over) == 0 {
		return base
	}
	out := slices.Clone(base)
	for _, kv := range over {
		k, _, _ := strings.Cut(kv, "=")
		i := slices.IndexFunc(out, func(e string) bool { return strings.HasPrefix(e, k+"=") })
		if i >= 0 {
			out[i] = kv
		} else {
			out = append(out, kv)
		}
	}
	return out
}

// merge returns the union of maps, later ones winning; nil when empty.
func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func countFiles(es []entry) int {
	n := 0
	for _, e := range es {
		if e.kind != kindDir {
			n++
		}
	}
	return n
}

// plainImage keeps go-containerregistry from writing an artifactType
// (the config media type) into the index descriptor of an ordinary image.
// The field is optional for images, and older clients (skopeo 1.9 in
// Debian) drop it when re-serialising, so they cannot copy the index with
// its digest preserved.
type plainImage struct{ v1.Image }

// ArtifactType implements partial's withArtifactType.
func (plainImage) ArtifactType() (string, error) { return "", nil }
