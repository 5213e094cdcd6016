//go:build integration

package sandbox_test

import (
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fxplatform/deploy-actions/pkg/internal/sandbox"
)

// A registry of its own for one test: TLS and basic auth, stopped by
// t.Cleanup.
func ExampleNewTestRegistry() {
	t := &testing.T{} // in a test, the test's t
	r := sandbox.NewTestRegistry(t, sandbox.RegistryOptions{TLS: true, Username: "ci", Password: "secret"})
	ref, _ := name.ParseReference(r.Addr + "/team/app:v1")
	img, _ := random.Image(1024, 1)
	_ = remote.Write(ref, img,
		remote.WithAuth(&authn.Basic{Username: r.Username, Password: r.Password}),
		remote.WithTransport(r.Transport())) // trusts the registry's CA
}

// An integration test gets the sandbox from Get (after TestMain calls
// sandbox.Main), a namespace of its own, and Prometheus scraping a process.
func ExampleGet() {
	t := &testing.T{} // in a test, the test's t
	s := sandbox.Get(t)
	client, _ := s.Client()
	ns := s.Namespace(t)
	_, _ = client, ns
	_ = s.AddScrapeTarget("my-app", []string{"127.0.0.1:8080"}, map[string]string{"job": "my-app"})
	fmt.Println(s.Registry, s.PrometheusURL)
}
