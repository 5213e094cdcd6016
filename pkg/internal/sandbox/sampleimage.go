package sandbox

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	corev1 "k8s.io/api/core/v1"
)

// SampleAppPort is the port the sample app's image listens on.
const SampleAppPort = 3000

var (
	sampleBinOnce sync.Once
	sampleBin     []byte
	sampleBinErr  error
	sampleImages  sync.Map // registry + version -> reference by digest
)

// SampleAppImage returns the sample app (testdata/sample-app) as an image
// in the sandbox registry whose APP_VERSION is version, by digest. The
// image is built like build-push builds it: the static binary at
// /app/sample-app as the entrypoint, a non-root user, port 3000. env adds
// variables to the image, such as a fault ("ERROR_RATE=0.05") that makes it
// a bad release. The binary is compiled once per test process and each
// image pushed once.
func (s *Sandbox) SampleAppImage(t testing.TB, version string, env ...string) string {
	t.Helper()
	key := s.Registry + " " + version + " " + strings.Join(env, " ")
	if ref, ok := sampleImages.Load(key); ok {
		return ref.(string)
	}
	tag := version
	if len(env) > 0 {
		sum := sha256.Sum256([]byte(strings.Join(env, " ")))
		tag += "-" + hex.EncodeToString(sum[:6])
	}
	ref := s.PushSampleApp(t, s.Registry+"/sandbox/sample-app:"+tag, version, env...)
	sampleImages.Store(key, ref)
	return ref
}

// PushSampleApp pushes the sample app's image (as SampleAppImage builds it)
// to ref, a repository and tag in the sandbox registry, and returns it by
// digest.
func (s *Sandbox) PushSampleApp(t testing.TB, ref, version string, env ...string) string {
	t.Helper()
	digest, err := s.PushSampleAppImage(context.Background(), ref, version, env...)
	if err != nil {
		t.Fatal(err)
	}
	return digest
}

// PushSampleAppImage is PushSampleApp for a program (the benchmarks).
func (s *Sandbox) PushSampleAppImage(ctx context.Context, ref, version string, env ...string) (string, error) {
	sampleBinOnce.Do(func() { sampleBin, sampleBinErr = buildSampleApp() })
	if sampleBinErr != nil {
		return "", fmt.Errorf("building the sample app: %w", sampleBinErr)
	}
	digest, err := pushSampleApp(ctx, sampleBin, ref, version, env, s.RegistryUser, s.RegistryPassword)
	if err != nil {
		return "", fmt.Errorf("pushing the sample app %s: %w", version, err)
	}
	return digest, nil
}

func buildSampleApp() ([]byte, error) {
	root, err := FindRepoRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "sample-app-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := filepath.Join(dir, "sample-app")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./testdata/sample-app")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=-buildvcs=false")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%w: %s", err, msg)
	}
	return os.ReadFile(out)
}

func pushSampleApp(ctx context.Context, bin []byte, ref, version string, env []string, user, password string) (string, error) {
	img, err := fileImage([]imageFile{{dir: true, name: "app/"}, {name: "app/sample-app", data: bin}}, func(c *v1.Config) {
		c.Entrypoint = []string{"/app/sample-app"}
		c.User = "65532:65532"
		c.Env = append([]string{"APP_VERSION=" + version, fmt.Sprintf("PORT=%d", SampleAppPort)}, env...)
		c.ExposedPorts = map[string]struct{}{fmt.Sprintf("%d/tcp", SampleAppPort): {}}
	})
	if err != nil {
		return "", err
	}
	return pushImage(ctx, img, ref, user, password)
}

// imageFile is one entry of fileImage's layer: a directory or an
// executable file.
type imageFile struct {
	name string
	dir  bool
	data []byte
}

// fileImage is a linux image of this machine's architecture with one layer
// holding files, its config set by config.
func fileImage(files []imageFile, config func(*v1.Config)) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: 0o755, Typeflag: tar.TypeReg, Size: int64(len(f.data))}
		if f.dir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = runtime.GOARCH, "linux"
	config(&cf.Config)
	return mutate.ConfigFile(img, cf)
}

// pushImage writes img to the plain-HTTP sandbox registry under tag and
// returns its reference by digest.
func pushImage(ctx context.Context, img v1.Image, tag, user, password string) (string, error) {
	ref, err := name.NewTag(tag, name.Insecure)
	if err != nil {
		return "", err
	}
	auth := authn.Anonymous
	if user != "" {
		auth = &authn.Basic{Username: user, Password: password}
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithAuth(auth)); err != nil {
		return "", err
	}
	digest, err := img.Digest()
	if err != nil {
		return "", err
	}
	return ref.Context().Digest(digest.String()).String(), nil
}

// OnRealNode places a pod on the real node: it selects the node's label and
// tolerates its taint. Pods without it run on the kwok nodes.
func OnRealNode(spec *corev1.PodSpec) {
	if spec.NodeSelector == nil {
		spec.NodeSelector = map[string]string{}
	}
	spec.NodeSelector[RealNodeLabel] = RealNodeLabelValue
	spec.Tolerations = append(spec.Tolerations, corev1.Toleration{Key: RealNodeTaint, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})
}
