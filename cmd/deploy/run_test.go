package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
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

// verification is a gate requiring verification, with input set to value.
func verification(t *testing.T, input, value string) map[string]string {
	return map[string]string{"verify-key": string(newKey(t).PublicBytes), "verify-attestations": "verification", input: value}
}

// TestBadInput checks that each bad input is reported as one error
// annotation naming it, with exit 1 and no output, before any request
// reaches the cluster or GitHub.
func TestBadInput(t *testing.T) {
	cluster := actiontest.NewTLSServer(t, nil)
	actiontest.BadInputs{
		Spec: spec, Run: run,
		Good: map[string]string{
			"chart":      testChart,
			"release":    "fx-platform-staging",
			"image":      "127.0.0.1:5000/fx-platform@" + digest,
			"kubeconfig": kubeconfigFor(cluster.Server),
		},
		Servers: []*actiontest.Server{cluster},
	}.Test(t, []actiontest.BadInput{
		{Name: "chart missing", Set: map[string]string{"chart": ""}, Input: "chart"},
		{Name: "chart path does not exist", Set: map[string]string{"chart": "testdata/no-such-chart"}, Input: "chart"},
		{Name: "chart is not a chart", Set: map[string]string{"chart": "."}, Input: "chart"},
		{Name: "chart-version on a local chart", Set: map[string]string{"chart-version": "1.2.3"}, Input: "chart-version"},
		{Name: "oci reference malformed", Set: map[string]string{"chart": "oci://Bad Host/x"}, Input: "chart"},
		{Name: "release missing", Set: map[string]string{"release": ""}, Input: "release"},
		{Name: "release name invalid", Set: map[string]string{"release": "FX_Platform"}, Input: "release"},
		{Name: "namespace invalid", Set: map[string]string{"namespace": "Staging!"}, Input: "namespace"},
		{Name: "set syntax invalid", Set: map[string]string{"set": "replicaCount=3\nimage[x]=1"}, Input: "set"},
		{Name: "fulcio roots without rekor key", Set: map[string]string{"verify-certificate-identity": "https://github.com/a/b/.github/workflows/r.yml@refs/tags/v1", "verify-certificate-oidc-issuer": "https://token.actions.githubusercontent.com", "verify-fulcio-roots": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, Input: "verify-rekor-public-key"},
		{Name: "fulcio roots not a certificate", Set: map[string]string{"verify-certificate-identity": "https://github.com/a/b/.github/workflows/r.yml@refs/tags/v1", "verify-certificate-oidc-issuer": "https://token.actions.githubusercontent.com", "verify-fulcio-roots": "/does/not/exist.pem", "verify-rekor-public-key": "/does/not/exist.pub"}, Input: "verify-fulcio-roots"},
		{Name: "set with no value", Set: map[string]string{"set": "justakey"}, Input: "set"},
		{Name: "set-string syntax invalid", Set: map[string]string{"set-string": "a[-1]=x"}, Input: "set-string"},
		{Name: "values file missing", Set: map[string]string{"values-files": "testdata/none.yaml"}, Input: "values-files"},
		{Name: "image tag only", Set: map[string]string{"image": "127.0.0.1:5000/fx-platform:1.2.3"}, Input: "image"},
		{Name: "image digest malformed", Set: map[string]string{"image": "127.0.0.1:5000/fx-platform@sha256:abc"}, Input: "image"},
		{Name: "image-tag-key without a tag", Set: map[string]string{"image-tag-key": "image.tag"}, Input: "image"},
		{Name: "kubeconfig unparsable", Set: map[string]string{"kubeconfig": "apiVersion: v1\nclusters: [\n"}, Input: "kubeconfig"},
		{Name: "kubeconfig path missing", Set: map[string]string{"kubeconfig": "/nonexistent/kubeconfig"}, Input: "kubeconfig"},
		{Name: "context unknown", Set: map[string]string{"context": "production"}, Input: "context"},
		{Name: "timeout invalid", Set: map[string]string{"timeout": "five minutes"}, Input: "timeout"},
		{Name: "max-history negative", Set: map[string]string{"max-history": "-1"}, Input: "max-history"},
		{Name: "wait not a boolean", Set: map[string]string{"wait": "yes"}, Input: "wait"},
		{Name: "environment-url not a URL", Set: map[string]string{"environment-url": "staging.example.com"}, Input: "environment-url"},
		{Name: "github-token outside a runner", Set: map[string]string{"github-token": "ghs_x"}, Input: "github-token"},
		{Name: "verification max age zero", Set: verification(t, "verify-verification-max-age", "0s"), Input: "verify-verification-max-age"},
		{Name: "verification max age negative", Set: verification(t, "verify-verification-max-age", "-1h"), Input: "verify-verification-max-age"},
		{Name: "verification max age not a duration", Set: verification(t, "verify-verification-max-age", "a day"), Input: "verify-verification-max-age"},
		{Name: "verification environment not a name", Set: verification(t, "verify-verification-environment", "staging\nproduction"), Input: "verify-verification-environment"},
		{Name: "verification environment without verification", Set: map[string]string{"verify-key": string(newKey(t).PublicBytes), "verify-verification-environment": "staging"}, Input: "verify-verification-environment"},
		{Name: "verification max age without verification", Set: map[string]string{"verify-key": string(newKey(t).PublicBytes), "verify-attestations": "slsaprovenance1", "verify-verification-max-age": "24h"}, Input: "verify-verification-max-age"},
		{Name: "verification without a key or identity", Set: map[string]string{"verify-attestations": "verification"}, Input: "verify-attestations"},
		{Name: "github api url invalid", Set: map[string]string{"github-token": "ghs_x"},
			Env: map[string]string{"GITHUB_REPOSITORY": "acme/fx", "GITHUB_SHA": "abc", "GITHUB_API_URL": "ftp://x"}, Input: "github-token"},
	})
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

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o600) }
