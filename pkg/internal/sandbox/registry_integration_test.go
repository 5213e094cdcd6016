//go:build integration

package sandbox

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestRegistryServes(t *testing.T) {
	tests := []struct {
		name string
		opts RegistryOptions
	}{
		{name: "plain http", opts: RegistryOptions{}},
		{name: "basic auth", opts: RegistryOptions{Username: "ci", Password: "s3cret pass"}},
		{name: "tls", opts: RegistryOptions{TLS: true}},
		{name: "tls and basic auth", opts: RegistryOptions{TLS: true, Username: "ci", Password: "pw"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewTestRegistry(t, tc.opts)
			client := &http.Client{Transport: r.Transport()}
			get := func(user, pass string) int {
				req, err := http.NewRequest(http.MethodGet, r.URL()+"/v2/_catalog", nil)
				if err != nil {
					t.Fatal(err)
				}
				if user != "" {
					req.SetBasicAuth(user, pass)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("GET /v2/_catalog: %v", err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if got := get(tc.opts.Username, tc.opts.Password); got != http.StatusOK {
				t.Errorf("with the right credentials: got status %d, want 200", got)
			}
			if tc.opts.Username != "" {
				if got := get(tc.opts.Username, "wrong"); got != http.StatusUnauthorized {
					t.Errorf("with a wrong password: got status %d, want 401", got)
				}
				if got := get("", ""); got != http.StatusUnauthorized {
					t.Errorf("without credentials: got status %d, want 401", got)
				}
			}
			pushRandomImage(t, r)
			if tc.opts.TLS != (r.CertPool() != nil) {
				t.Errorf("CertPool() set = %v, want %v", r.CertPool() != nil, tc.opts.TLS)
			}
		})
	}
}

func TestRegistryFailures(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	notFound := func(string) (string, error) { return "", errors.New("not found") }
	noInstall := func(context.Context, []string) error { return errors.New("installing is disabled in this test") }

	tests := []struct {
		name  string
		opts  RegistryOptions
		check func(error) bool
	}{
		{name: "port already taken", opts: RegistryOptions{Port: busyPort}, check: func(err error) bool { return errors.Is(err, ErrPortInUse) }},
		{name: "missing debian package", opts: RegistryOptions{LookPath: notFound, Install: noInstall}, check: func(err error) bool {
			var m *MissingPackageError
			return errors.As(err, &m) && m.Package == "docker-registry"
		}},
		{name: "password without user", opts: RegistryOptions{Password: "x"}, check: func(err error) bool { return err != nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := StartRegistry(context.Background(), t.TempDir(), tc.opts)
			if err == nil {
				r.Close()
				t.Fatal("StartRegistry succeeded, want an error")
			}
			if !tc.check(err) {
				t.Errorf("got error %v, not the expected kind", err)
			}
			t.Logf("error (as a user reads it): %v", err)
		})
	}
}

// pushRandomImage pushes an image the way build-push does and reads it back.
func pushRandomImage(t *testing.T, r *Registry) {
	t.Helper()
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(r.Addr + "/sandbox/test:v1")
	if err != nil {
		t.Fatal(err)
	}
	auth := authn.Anonymous
	if r.Username != "" {
		auth = &authn.Basic{Username: r.Username, Password: r.Password}
	}
	opts := []remote.Option{remote.WithAuth(auth), remote.WithTransport(r.Transport())}
	if err := remote.Write(ref, img, opts...); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	want, _ := img.Digest()
	desc, err := remote.Head(ref, opts...)
	if err != nil {
		t.Fatalf("reading back %s: %v", ref, err)
	}
	if desc.Digest != want {
		t.Errorf("pushed digest %s, registry has %s", want, desc.Digest)
	}
}
