//go:build integration

package image

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/internal/sandbox"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// skopeo runs Debian's skopeo, the independent client that reads back what
// we pushed.
func skopeo(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := exec.Command("skopeo", args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, ee.Stderr)
		}
		t.Fatalf("skopeo %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// TestIntegrationRegistry pushes a two-platform image to Debian's
// docker-registry, with htpasswd basic auth over HTTP and over TLS, and
// reads it back with skopeo: digest, tags, platforms, labels and files.
func TestIntegrationRegistry(t *testing.T) {
	if _, err := exec.LookPath("skopeo"); err != nil {
		t.Fatalf("skopeo is needed (Debian package skopeo; scripts/install-deps): %v", err)
	}
	tests := []struct {
		name string
		tls  bool
	}{
		{"basic auth over HTTP", false},
		{"basic auth over TLS", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := sandbox.NewTestRegistry(t, sandbox.RegistryOptions{Username: "ci", Password: "s3cret-pw", TLS: tc.tls})
			skopeoAuth := []string{"--creds", "ci:s3cret-pw"}
			if tc.tls {
				certs := t.TempDir()
				if err := os.WriteFile(filepath.Join(certs, "ca.crt"), reg.CACertPEM, 0o644); err != nil {
					t.Fatal(err)
				}
				skopeoAuth = append(skopeoAuth, "--cert-dir", certs)
			} else {
				skopeoAuth = append(skopeoAuth, "--tls-verify=false")
			}
			kc := NewKeychain(Credentials{Registry: reg.Addr, Username: "ci", Password: "s3cret-pw"}, nil)
			b := newTestBuilder(t, WithKeychain(kc), WithTransport(reg.Transport()))
			dir := writeTree(t, map[string]string{"server.js": "require('http')\n", "static/logo.svg": "<svg/>", "bin/start*": "#!/bin/sh\nexec node server.js\n"})
			ctx := context.Background()
			platforms, _ := ParsePlatforms("linux/amd64,linux/arm64")
			img, err := b.Build(ctx, Spec{Context: dir, Platforms: platforms, Created: created, Revision: "0123456789", Version: "1.2.3",
				Source: "https://github.com/acme/fx", Labels: map[string]string{"team": "fx"}, Entrypoint: []string{"/app/bin/start"}})
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			repo := reg.Addr + "/acme/fx-platform"
			tags := []string{"1.2.3", "1.2", "1", "latest"}
			res, err := b.Push(ctx, img, repo, tags)
			if err != nil {
				t.Fatalf("Push: %v", err)
			}

			raw := skopeo(t, append([]string{"inspect", "--raw"}, append(skopeoAuth, "docker://"+repo+":1.2.3")...)...)
			if got := "sha256:" + hexSHA256(raw); got != res.Digest.String() {
				t.Errorf("skopeo sees digest %s, we pushed %s", got, res.Digest)
			}
			var index v1.IndexManifest
			if err := json.Unmarshal(raw, &index); err != nil {
				t.Fatal(err)
			}
			var plats []string
			for _, m := range index.Manifests {
				plats = append(plats, platformString(*m.Platform))
			}
			if !slices.Equal(plats, []string{"linux/amd64", "linux/arm64"}) {
				t.Errorf("platforms = %q", plats)
			}

			var listed struct{ Tags []string }
			if err := json.Unmarshal(skopeo(t, append([]string{"list-tags"}, append(skopeoAuth, "docker://"+repo)...)...), &listed); err != nil {
				t.Fatal(err)
			}
			slices.Sort(listed.Tags)
			if want := slices.Sorted(slices.Values(tags)); !slices.Equal(listed.Tags, want) {
				t.Errorf("tags = %q, want %q", listed.Tags, want)
			}

			out := t.TempDir()
			skopeo(t, append(append([]string{"copy", "--all", "--preserve-digests", "--src-creds", "ci:s3cret-pw"}, srcTLS(skopeoAuth)...), "docker://"+repo+"@"+res.Digest.String(), "oci:"+out+":copy")...)
			for _, m := range index.Manifests {
				cfg, files := readOCIImage(t, out, m.Digest)
				if cfg.Architecture != m.Platform.Architecture {
					t.Errorf("%s: config architecture %q", platformString(*m.Platform), cfg.Architecture)
				}
				wantLabels := map[string]string{LabelRevision: "0123456789", LabelVersion: "1.2.3", LabelSource: "https://github.com/acme/fx", LabelCreated: "2026-11-25T12:00:00Z", "team": "fx"}
				for k, v := range wantLabels {
					if cfg.Config.Labels[k] != v {
						t.Errorf("label %s = %q, want %q", k, cfg.Config.Labels[k], v)
					}
				}
				if files["app/server.js"] != "require('http')\n" || files["app/bin/start"] != "#!/bin/sh\nexec node server.js\n" || files["app/static/logo.svg"] != "<svg/>" {
					t.Errorf("files = %v", files)
				}
			}

			bad := newTestBuilder(t, WithKeychain(NewKeychain(Credentials{Registry: reg.Addr, Username: "ci", Password: "wrong"}, nil)), WithTransport(reg.Transport()))
			if _, err := bad.Push(ctx, img, repo, []string{"x"}); !errors.Is(err, ErrUnauthorized) {
				t.Errorf("push with a wrong password: error %v, want ErrUnauthorized", err)
			}
		})
	}
}

// srcTLS turns inspect-style TLS flags into skopeo copy's --src- ones.
func srcTLS(flags []string) []string {
	var out []string
	for i := 0; i < len(flags); i++ {
		switch {
		case flags[i] == "--creds":
			i++
		case flags[i] == "--cert-dir":
			out = append(out, "--src-cert-dir", flags[i+1])
			i++
		case flags[i] == "--tls-verify=false":
			out = append(out, "--src-tls-verify=false")
		}
	}
	return out
}

func hexSHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// readOCIImage reads one image of an OCI layout with the standard library
// only: its config and its files (layer order applied, last wins).
func readOCIImage(t *testing.T, dir string, d v1.Hash) (*v1.ConfigFile, map[string]string) {
	t.Helper()
	blob := func(h v1.Hash) []byte {
		b, err := os.ReadFile(filepath.Join(dir, "blobs", h.Algorithm, h.Hex))
		if err != nil {
			t.Fatalf("reading blob: %v", err)
		}
		if hexSHA256(b) != h.Hex {
			t.Fatalf("blob %s has the wrong digest", h)
		}
		return b
	}
	var m v1.Manifest
	if err := json.Unmarshal(blob(d), &m); err != nil {
		t.Fatal(err)
	}
	var cfg v1.ConfigFile
	if err := json.Unmarshal(blob(m.Config.Digest), &cfg); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, l := range m.Layers {
		zr, err := gzip.NewReader(strings.NewReader(string(blob(l.Digest))))
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(zr)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if hdr.Uid != 0 || hdr.Gid != 0 || !hdr.ModTime.Equal(hdr.ModTime.Truncate(0)) {
				t.Errorf("%s: owner %d:%d", hdr.Name, hdr.Uid, hdr.Gid)
			}
			if hdr.Typeflag == tar.TypeReg {
				b, _ := io.ReadAll(tr)
				files[hdr.Name] = string(b)
			}
		}
	}
	return &cfg, files
}
