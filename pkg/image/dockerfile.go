package image

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// buildDockerfile builds spec.Dockerfile with buildah (vfs storage, chroot
// isolation: no daemon, no privileges beyond root) or docker buildx into a
// temporary OCI layout, and returns it as an Image whose base is the built
// image and which adds no layers; Push then publishes it like any other.
func (b *Builder) buildDockerfile(ctx context.Context, spec Spec, start time.Time) (*Image, error) {
	dir, err := os.MkdirTemp("", "build-push-oci-")
	if err != nil {
		return nil, err
	}
	img := &Image{spec: spec, cleanup: removeAll(dir)}
	fail := func(err error) (*Image, error) {
		img.Close()
		return nil, err
	}
	if err := b.runDockerfileBuild(ctx, spec, dir); err != nil {
		return fail(err)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return fail(fmt.Errorf("reading the built image: %w", err))
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) == 0 {
		return fail(fmt.Errorf("reading the built image: no manifest in %s (%v)", dir, err))
	}
	built, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		return fail(fmt.Errorf("reading the built image: %w", err))
	}
	cfg, err := built.ConfigFile()
	if err != nil {
		return fail(fmt.Errorf("reading the built image's config: %w", err))
	}
	img.platforms = []v1.Platform{{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}}
	img.bases = []v1.Image{built}
	img.platformLayers = [][]int{nil} // the build's own layers are in built
	img.buildTime = b.o.now().Sub(start)
	return img, nil
}

func (b *Builder) runDockerfileBuild(ctx context.Context, spec Spec, dir string) error {
	// The options both builders take alike.
	var opts []string
	if len(spec.Platforms) == 1 {
		opts = []string{"--platform", platformString(spec.Platforms[0])}
	}
	stamp := strconv.FormatInt(spec.Created.Unix(), 10)
	// Sorted, so that the same inputs give the same command line.
	for _, k := range slices.Sorted(maps.Keys(spec.BuildArgs)) {
		opts = append(opts, "--build-arg", k+"="+spec.BuildArgs[k])
	}
	if spec.Target != "" {
		opts = append(opts, "--target", spec.Target)
	}
	if buildah, err := b.o.lookPath("buildah"); err == nil {
		// The base images come with the Builder's own credentials and
		// insecure registries; the files live beside the layout, outside
		// it, and go with it.
		confDir, err := os.MkdirTemp(b.o.tempDir, "build-push-buildah-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(confDir)
		pull, env, err := b.builderConfig(spec, confDir)
		if err != nil {
			return err
		}
		suffix := make([]byte, 6)
		rand.Read(suffix)
		tag := "localhost/build-push-" + hex.EncodeToString(suffix)
		store := []string{"--storage-driver", "vfs"}
		bud := append(append([]string{}, store...), "bud", "--isolation", "chroot", "--format", "oci",
			"--timestamp", stamp, "-f", spec.Dockerfile, "-t", tag)
		bud = append(append(append(bud, pull...), opts...), spec.contextDir())
		if err := b.runEnv(ctx, env, buildah, bud...); err != nil {
			return err
		}
		defer b.run(context.WithoutCancel(ctx), buildah, append(store, "rmi", tag)...)
		return b.run(ctx, buildah, append(store, "push", tag, "oci:"+dir+":latest")...)
	}
	if docker, err := b.o.lookPath("docker"); err == nil && b.run(ctx, docker, "buildx", "version") == nil {
		args := []string{"buildx", "build", "-f", spec.Dockerfile,
			"--output", "type=oci,tar=false,rewrite-timestamp=true,dest=" + dir,
			"--build-arg", "SOURCE_DATE_EPOCH=" + stamp}
		args = append(append(args, opts...), spec.contextDir())
		return b.run(ctx, docker, args...)
	}
	return specErr("dockerfile", ErrNoBuilder)
}

// run runs a builder command, passing its output lines to the reporter
// and keeping the end of it for the error message.
func (b *Builder) run(ctx context.Context, prog string, args ...string) error {
	return b.runEnv(ctx, nil, prog, args...)
}

// runEnv is run with env added to the environment.
func (b *Builder) runEnv(ctx context.Context, env []string, prog string, args ...string) error {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, prog, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	for line := range strings.Lines(out.String()) {
		b.o.reporter.Report(Event{Kind: EventBuilderOutput, Message: strings.TrimRight(line, "\n")})
	}
	if err != nil {
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		tail := strings.Join(lines[max(0, len(lines)-15):], "\n")
		return fmt.Errorf("running %s %s: %w\n%s", prog, strings.Join(hideBuildArgs(args), " "), err, tail)
	}
	return nil
}

// hideBuildArgs is args with the values of --build-arg hidden: a token
// passed as one must not reach an error message.
func hideBuildArgs(args []string) []string {
	out := slices.Clone(args)
	for i := 1; i < len(out); i++ {
		if out[i-1] == "--build-arg" {
			if k, _, ok := strings.Cut(out[i], "="); ok {
				out[i] = k + "=***"
			}
		}
	}
	return out
}
