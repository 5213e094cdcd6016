package changes

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fxplatform/deploy-actions/pkg/image"
)

const (
	stableSHA    = "1111111111111111111111111111111111111111"
	candidateSHA = "4444444444444444444444444444444444444444"
	source       = "https://github.com/acme/fx"
)

// testRegistry is an in-process registry, reached anonymously.
type testRegistry struct {
	t    *testing.T
	host string
	srv  *httptest.Server
}

func newRegistry(t *testing.T) *testRegistry {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return &testRegistry{t: t, host: strings.TrimPrefix(srv.URL, "http://"), srv: srv}
}

func (r *testRegistry) remote() image.Remote {
	return image.Remote{Keychain: authn.NewMultiKeychain()}
}

// labelled is an image whose config carries labels (none when nil).
func labelled(t *testing.T, labels map[string]string) v1.Image {
	t.Helper()
	img, err := mutate.Config(empty.Image, v1.Config{Labels: labels, Cmd: []string{"/app"}})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func labels(revision string) map[string]string {
	return map[string]string{image.LabelRevision: revision, image.LabelSource: source}
}

// push writes img (a v1.Image or a v1.ImageIndex) to repo and returns its
// repo@digest reference.
func (r *testRegistry) push(repo string, img any) string {
	r.t.Helper()
	var d v1.Hash
	var err error
	switch x := img.(type) {
	case v1.Image:
		if d, err = x.Digest(); err == nil {
			err = remote.Write(ref(r.t, r.host+"/"+repo+"@"+d.String()), x)
		}
	case v1.ImageIndex:
		if d, err = x.Digest(); err == nil {
			err = remote.WriteIndex(ref(r.t, r.host+"/"+repo+"@"+d.String()), x)
		}
	}
	if err != nil {
		r.t.Fatal(err)
	}
	return r.host + "/" + repo + "@" + d.String()
}

func ref(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// index is a multi-platform index: one image per platform, in order.
func index(t *testing.T, imgs map[string]v1.Image, order ...string) v1.ImageIndex {
	t.Helper()
	idx := v1.ImageIndex(empty.Index)
	for _, p := range order {
		plat, err := v1.ParsePlatform(p)
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: imgs[p], Descriptor: v1.Descriptor{Platform: plat}})
	}
	return idx
}

func TestReadRevision(t *testing.T) {
	reg := newRegistry(t)
	amd64, arm64 := labelled(t, labels("amd64-revision")), labelled(t, labels("arm64-revision"))
	attestation := labelled(t, map[string]string{image.LabelRevision: "attestation"})
	tests := []struct {
		name    string
		ref     string
		want    Revision // Image is the ref
		wantErr string
	}{
		{name: "labelled", ref: reg.push("acme/fx", labelled(t, labels(candidateSHA))),
			want: Revision{Revision: candidateSHA, Source: source}},
		{name: "no labels", ref: reg.push("acme/fx", labelled(t, nil))},
		{name: "source only", ref: reg.push("acme/fx", labelled(t, map[string]string{image.LabelSource: source})),
			want: Revision{Source: source}},
		{name: "index: linux/amd64", ref: reg.push("acme/fx", index(t, map[string]v1.Image{
			"unknown/unknown": attestation, "linux/arm64": arm64, "linux/amd64": amd64}, "unknown/unknown", "linux/arm64", "linux/amd64")),
			want: Revision{Revision: "amd64-revision", Source: source}},
		{name: "index without linux/amd64: the first known platform", ref: reg.push("acme/fx", index(t, map[string]v1.Image{
			"unknown/unknown": attestation, "linux/arm64": arm64}, "unknown/unknown", "linux/arm64")),
			want: Revision{Revision: "arm64-revision", Source: source}},
		{name: "by tag", ref: func() string {
			if err := remote.Write(ref(t, reg.host+"/acme/fx:v1"), labelled(t, labels(stableSHA))); err != nil {
				t.Fatal(err)
			}
			return reg.host + "/acme/fx:v1"
		}(), want: Revision{Revision: stableSHA, Source: source}},
		{name: "missing image", ref: reg.host + "/acme/fx@sha256:" + strings.Repeat("0", 64),
			wantErr: `reading "` + reg.host + `/acme/fx@sha256:` + strings.Repeat("0", 64) + `": `},
		{name: "bad reference", ref: "acme/FX@sha256:12", wantErr: `parsing image reference "acme/FX@sha256:12"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadRevision(context.Background(), tc.ref, reg.remote())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Image = tc.ref
			if got != tc.want {
				t.Errorf("ReadRevision = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestReadRevisionInsecureHost reads from a registry host that is not
// loopback, which go-containerregistry reaches over plain HTTP only when
// the Remote names it insecure.
func TestReadRevisionInsecureHost(t *testing.T) {
	reg := newRegistry(t)
	pushed := reg.push("acme/fx", labelled(t, labels(candidateSHA)))
	alias := "registry.example:5000" + strings.TrimPrefix(pushed, reg.host)
	addr := reg.srv.Listener.Addr().String()
	r := reg.remote()
	r.Insecure = []string{"registry.example:5000"}
	r.Transport = &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	got, err := ReadRevision(context.Background(), alias, r)
	if err != nil {
		t.Fatal(err)
	}
	if got.Revision != candidateSHA {
		t.Errorf("Revision = %q, want %q", got.Revision, candidateSHA)
	}
}

func TestReadRevisionCanceled(t *testing.T) {
	reg := newRegistry(t)
	pushed := reg.push("acme/fx", labelled(t, labels(candidateSHA)))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadRevision(ctx, pushed, reg.remote()); !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}
