package helm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/fxplatform/deploy-actions/pkg/image"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/registry"
	orasregistry "oras.land/oras-go/v2/registry"
)

// ChartRef is where a chart comes from: a local directory, a packaged
// .tgz, or an oci:// reference with an optional version.
type ChartRef struct {
	Ref     string
	Version string
}

// IsOCI reports whether the chart lives in an OCI registry.
func (c ChartRef) IsOCI() bool { return strings.HasPrefix(c.Ref, "oci://") }

// Check validates the reference without the network: a local chart must
// exist and load; an OCI reference must parse.
func (c ChartRef) Check() (*chart.Chart, error) {
	if c.IsOCI() {
		if _, err := orasregistry.ParseReference(strings.TrimPrefix(c.Ref, "oci://")); err != nil {
			return nil, fmt.Errorf("%q is not a valid oci:// chart reference: %w", c.Ref, err)
		}
		return nil, nil
	}
	if c.Version != "" {
		return nil, fmt.Errorf("a chart version is for oci:// charts; %q is a local chart", c.Ref)
	}
	if _, err := os.Stat(c.Ref); err != nil {
		return nil, fmt.Errorf("chart %q: %w", c.Ref, err)
	}
	ch, err := loader.Load(c.Ref)
	if err != nil {
		return nil, fmt.Errorf("loading chart %q: %w", c.Ref, err)
	}
	if err := ch.Validate(); err != nil {
		return nil, fmt.Errorf("chart %q: %w", c.Ref, err)
	}
	return ch, nil
}

// Pull fetches an OCI chart through r: its retries, Retry-After handling
// and user agent, and plain HTTP for its insecure hosts and loopback
// addresses (as docker does for localhost); others need TLS. Credentials
// come from the docker config, as for the helm CLI. Helm's registry client
// takes no context, so every request it makes is bound to ctx here: an
// interrupted deploy stops pulling (and waiting to retry) at once.
func (c ChartRef) Pull(ctx context.Context, r image.Remote) (*chart.Chart, error) {
	if !c.IsOCI() {
		return nil, errors.New("not an oci:// chart")
	}
	ref := strings.TrimPrefix(c.Ref, "oci://")
	parsed, err := orasregistry.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	hc := r.HTTPClient()
	hc.Transport = contextTransport{ctx: ctx, inner: hc.Transport}
	opts := []registry.ClientOption{registry.ClientOptHTTPClient(hc), registry.ClientOptWriter(&bytes.Buffer{})}
	if r.PlainHTTP(parsed.Registry) {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	client, err := registry.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("making a registry client: %w", err)
	}
	switch {
	case c.Version != "":
		ref = parsed.Registry + "/" + parsed.Repository + ":" + strings.ReplaceAll(c.Version, "+", "_")
	case parsed.Reference == "":
		tags, err := client.Tags(ref)
		if err != nil {
			return nil, fmt.Errorf("listing versions of %q: %w", c.Ref, err)
		}
		if len(tags) == 0 {
			return nil, fmt.Errorf("%q has no semver-tagged versions", c.Ref)
		}
		ref += ":" + strings.ReplaceAll(tags[0], "+", "_")
	}
	res, err := client.Pull(ref, registry.PullOptWithChart(true))
	if err != nil {
		return nil, fmt.Errorf("pulling chart %q: %w", ref, err)
	}
	ch, err := loader.LoadArchive(bytes.NewReader(res.Chart.Data))
	if err != nil {
		return nil, fmt.Errorf("loading chart %q: %w", ref, err)
	}
	return ch, nil
}

// contextTransport sends every request with ctx, for a client that makes
// its requests without one.
type contextTransport struct {
	ctx   context.Context
	inner http.RoundTripper
}

func (t contextTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.inner.RoundTrip(req.WithContext(t.ctx))
}
