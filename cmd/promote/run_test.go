package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/cosign/v2/pkg/cosign"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
)

var (
	imageV1 = "127.0.0.1:5000/fx-platform@sha256:" + strings.Repeat("1", 64)
	imageV2 = "127.0.0.1:5000/fx-platform@sha256:" + strings.Repeat("2", 64)
)

// TestBadInput: every bad input is refused before the first request to
// the cluster (a kubeconfig's API server that counts requests) or to
// Prometheus.
func TestBadInput(t *testing.T) {
	cluster, prometheus := actiontest.NewTLSServer(t, nil), actiontest.NewServer(t, nil)
	actiontest.BadInputs{
		Spec: spec, Run: run,
		Good:    map[string]string{"service": "fx-platform-service", "deployment": "fx-platform", "image": imageV2, "kubeconfig": cluster.Kubeconfig()},
		Servers: []*actiontest.Server{cluster, prometheus},
	}.Test(t, []actiontest.BadInput{
		{Name: "tag-only image refused", Set: map[string]string{"image": "127.0.0.1:5000/fx-platform:v2"}, Input: "image"},
		{Name: "service missing", Set: map[string]string{"service": ""}, Input: "service"},
		{Name: "bad strategy", Set: map[string]string{"strategy": "rolling"}, Input: "strategy"},
		{Name: "unknown router", Set: map[string]string{"traffic-router": "istio"}, Input: "traffic-router"},
		{Name: "service router cannot do canary", Set: map[string]string{"strategy": "canary", "traffic-router": "service"}, Input: "traffic-router"},
		{Name: "steps not ending at 100", Set: map[string]string{"strategy": "canary", "steps": "10,50"}, Input: "steps"},
		{Name: "steps decreasing", Set: map[string]string{"strategy": "canary", "steps": "50,10,100"}, Input: "steps"},
		{Name: "gateway-api without httproute", Set: map[string]string{"strategy": "canary", "traffic-router": "gateway-api"}, Input: "httproute"},
		{Name: "nginx without ingress", Set: map[string]string{"strategy": "canary", "traffic-router": "nginx"}, Input: "ingress"},
		{Name: "bad pause", Set: map[string]string{"step-pause": "5m,soon"}, Input: "step-pause"},
		{Name: "health path that is a URL (metadata service)", Set: map[string]string{"preview-url": "http://fx-preview:8080", "health-paths": "/api/health,http://169.254.169.254/latest"}, Input: "health-paths"},
		{Name: "health path with a host", Set: map[string]string{"health-paths": "//169.254.169.254/latest"}, Input: "health-paths"},
		{Name: "health path without a leading slash", Set: map[string]string{"health-paths": "api/health"}, Input: "health-paths"},
		{Name: "checks without prometheus", Set: map[string]string{"analysis-checks": "- {name: e, query: up, max: 1}"}, Input: "prometheus-url"},
		{Name: "bad checks", Set: map[string]string{"analysis-checks": "- {name: e}", "prometheus-url": prometheus.URL}, Input: "analysis-checks"},
		{Name: "bad namespace", Set: map[string]string{"namespace": "Prod_1"}, Input: "namespace"},
		{Name: "negative limit", Set: map[string]string{"failure-limit": "-1"}, Input: "failure-limit"},
		{Name: "environment-url not a URL", Set: map[string]string{"environment-url": "fx.example.com"}, Input: "environment-url"},
		{Name: "availability-url not a URL", Set: map[string]string{"availability-url": "file:///etc/passwd"}, Input: "availability-url"},
		{Name: "availability-rate zero", Set: map[string]string{"availability-rate": "0"}, Input: "availability-rate"},
		{Name: "availability-rate not a number", Set: map[string]string{"availability-rate": "fast"}, Input: "availability-rate"},
		{Name: "availability-rate above 1000", Set: map[string]string{"availability-rate": "5000"}, Input: "availability-rate"},
		{Name: "min-availability above 100 %", Set: map[string]string{"min-availability": "101%"}, Input: "min-availability"},
		{Name: "min-availability not a percentage", Set: map[string]string{"min-availability": "high"}, Input: "min-availability"},
		{Name: "verify-key not a public key", Set: map[string]string{"verify-key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}, Input: "verify-key"},
		{Name: "verify-key a private key file", Set: map[string]string{"verify-key": privateKeyFile(t)}, Input: "verify-key"},
		{Name: "verify-key unknown KMS", Set: map[string]string{"verify-key": "vault://k"}, Input: "verify-key"},
		{Name: "identity without issuer", Set: map[string]string{"verify-certificate-identity": "https://github.com/a/b/.github/workflows/r.yml@refs/tags/v1"}, Input: "verify-certificate-oidc-issuer"},
		{Name: "attestations without a key", Set: map[string]string{"verify-attestations": "vuln"}, Input: "verify-attestations"},
	})
}

// privateKeyFile is a cosign private key on disk: what verify-key gets when
// someone passes cosign.key instead of cosign.pub.
func privateKeyFile(t *testing.T) string {
	t.Helper()
	keys, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte("pw"), nil })
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cosign.key")
	if err := os.WriteFile(path, keys.PrivateBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
