package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
)

const (
	testChart = "../../testdata/charts/fx-platform"
	digest    = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// kubeconfigFor points a kubeconfig at srv.
func kubeconfigFor(srv *httptest.Server) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: test
clusters:
- name: test
  cluster: {server: %q, insecure-skip-tls-verify: true}
users:
- name: test
  user: {token: test-token-abcdef}
contexts:
- name: test
  context: {cluster: test, user: test}
`, srv.URL)
}

// TestBadInput checks that each bad input is reported as one error
// annotation naming it, with exit 1, before any request reaches the
// cluster or GitHub.
func TestBadInput(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "no", http.StatusTeapot)
	}))
	defer srv.Close()
	good := map[string]string{
		"chart":      testChart,
		"release":    "fx-platform-staging",
		"image":      "127.0.0.1:5000/fx-platform@" + digest,
		"kubeconfig": kubeconfigFor(srv),
	}
	tests := []struct {
		name   string
		inputs map[string]string
		env    map[string]string
		input  string // the input the error must name
	}{
		{name: "chart missing", inputs: map[string]string{"chart": ""}, input: "chart"},
		{name: "chart path does not exist", inputs: map[string]string{"chart": "testdata/no-such-chart"}, input: "chart"},
		{name: "chart is not a chart", inputs: map[string]string{"chart": "."}, input: "chart"},
		{name: "chart-version on a local chart", inputs: map[string]string{"chart-version": "1.2.3"}, input: "chart-version"},
		{name: "oci reference malformed", inputs: map[string]string{"chart": "oci://Bad Host/x"}, input: "chart"},
		{name: "release missing", inputs: map[string]string{"release": ""}, input: "release"},
		{name: "release name invalid", inputs: map[string]string{"release": "FX_Platform"}, input: "release"},
		{name: "namespace invalid", inputs: map[string]string{"namespace": "Staging!"}, input: "namespace"},
		{name: "set syntax invalid", inputs: map[string]string{"set": "replicaCount=3\nimage[x]=1"}, input: "set"},
		{name: "fulcio roots without rekor key", inputs: map[string]string{"verify-certificate-identity": "https://github.com/a/b/.github/workflows/r.yml@refs/tags/v1", "verify-certificate-oidc-issuer": "https://token.actions.githubusercontent.com", "verify-fulcio-roots": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, input: "verify-rekor-public-key"},
		{name: "fulcio roots not a certificate", inputs: map[string]string{"verify-certificate-identity": "https://github.com/a/b/.github/workflows/r.yml@refs/tags/v1", "verify-certificate-oidc-issuer": "https://token.actions.githubusercontent.com", "verify-fulcio-roots": "/does/not/exist.pem", "verify-rekor-public-key": "/does/not/exist.pub"}, input: "verify-fulcio-roots"},
		{name: "set with no value", inputs: map[string]string{"set": "justakey"}, input: "set"},
		{name: "set-string syntax invalid", inputs: map[string]string{"set-string": "a[-1]=x"}, input: "set-string"},
		{name: "values file missing", inputs: map[string]string{"values-files": "testdata/none.yaml"}, input: "values-files"},
		{name: "image tag only", inputs: map[string]string{"image": "127.0.0.1:5000/fx-platform:1.2.3"}, input: "image"},
		{name: "image digest malformed", inputs: map[string]string{"image": "127.0.0.1:5000/fx-platform@sha256:abc"}, input: "image"},
		{name: "image-tag-key without a tag", inputs: map[string]string{"image-tag-key": "image.tag"}, input: "image"},
		{name: "kubeconfig unparsable", inputs: map[string]string{"kubeconfig": "apiVersion: v1\nclusters: [\n"}, input: "kubeconfig"},
		{name: "kubeconfig path missing", inputs: map[string]string{"kubeconfig": "/nonexistent/kubeconfig"}, input: "kubeconfig"},
		{name: "context unknown", inputs: map[string]string{"context": "production"}, input: "context"},
		{name: "timeout invalid", inputs: map[string]string{"timeout": "five minutes"}, input: "timeout"},
		{name: "max-history negative", inputs: map[string]string{"max-history": "-1"}, input: "max-history"},
		{name: "wait not a boolean", inputs: map[string]string{"wait": "yes"}, input: "wait"},
		{name: "environment-url not a URL", inputs: map[string]string{"environment-url": "staging.example.com"}, input: "environment-url"},
		{name: "github-token outside a runner", inputs: map[string]string{"github-token": "ghs_x"}, input: "github-token"},
		{name: "github api url invalid", inputs: map[string]string{"github-token": "ghs_x"},
			env: map[string]string{"GITHUB_REPOSITORY": "acme/fx", "GITHUB_SHA": "abc", "GITHUB_API_URL": "ftp://x"}, input: "github-token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inputs := map[string]string{}
			for k, v := range good {
				inputs[k] = v
			}
			for k, v := range tc.inputs {
				inputs[k] = v
			}
			r := actiontest.New(t, inputs)
			for k, v := range tc.env {
				r.Env[k] = v
			}
			before := requests.Load()
			if code := r.Run(context.Background(), spec, run); code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
			errs := r.Annotations("error")
			if len(errs) != 1 || !strings.Contains(errs[0], fmt.Sprintf("input %q", tc.input)) {
				t.Errorf("error annotations = %q, want one naming input %q", errs, tc.input)
			}
			if n := requests.Load() - before; n != 0 {
				t.Errorf("%d requests reached the cluster", n)
			}
			if out := r.Outputs(); len(out) != 0 {
				t.Errorf("outputs = %v, want none", out)
			}
		})
	}
}

func TestKubeconfigTokenMasked(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	path := t.TempDir() + "/kubeconfig"
	if err := writeFile(path, kubeconfigFor(srv)); err != nil {
		t.Fatal(err)
	}
	r := actiontest.New(t, map[string]string{"chart": testChart, "release": "fx", "kubeconfig": path, "timeout": "1s"})
	r.Run(context.Background(), spec, run)
	masks := r.Annotations("add-mask")
	found := false
	for _, m := range masks {
		found = found || m == "test-token-abcdef"
	}
	if !found {
		t.Errorf("add-mask commands = %q, want the kubeconfig token masked", masks)
	}
}

func TestTagOf(t *testing.T) {
	tests := []struct{ ref, want string }{
		{"127.0.0.1:5000/app@" + digest, ""},
		{"127.0.0.1:5000/app:1.2.3@" + digest, "1.2.3"},
		{"ghcr.io/acme/app:v1@" + digest, "v1"},
	}
	for _, tc := range tests {
		if got := tagOf(tc.ref); got != tc.want {
			t.Errorf("tagOf(%q) = %q, want %q", tc.ref, got, tc.want)
		}
	}
}

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o600) }
