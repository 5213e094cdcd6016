package helm

import (
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/image"
	"github.com/google/go-containerregistry/pkg/registry"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	helmregistry "helm.sh/helm/v4/pkg/registry"
)

func TestChartRefCheck(t *testing.T) {
	tests := []struct {
		name    string
		ref     ChartRef
		wantErr string
	}{
		{name: "local directory", ref: ChartRef{Ref: testChart}},
		{name: "oci reference", ref: ChartRef{Ref: "oci://127.0.0.1:5000/charts/fx-platform", Version: "0.1.0"}},
		{name: "missing directory", ref: ChartRef{Ref: "testdata/none"}, wantErr: "no such file"},
		{name: "not a chart", ref: ChartRef{Ref: "."}, wantErr: "loading chart"},
		{name: "version on a local chart", ref: ChartRef{Ref: testChart, Version: "1.0.0"}, wantErr: "oci:// charts"},
		{name: "bad oci reference", ref: ChartRef{Ref: "oci://Bad Host/x"}, wantErr: "not a valid oci://"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.ref.Check()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("Check() error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestChartRefPull pushes the test chart to an in-process registry with
// Helm's own client and pulls it back by version and by "latest semver".
func TestChartRefPull(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	tgz, err := chartutil.Save(loadChart(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(tgz)
	if err != nil {
		t.Fatal(err)
	}
	client, err := helmregistry.NewClient(helmregistry.ClientOptPlainHTTP(), helmregistry.ClientOptWriter(&strings.Builder{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Push(data, host+"/charts/fx-platform:0.1.0"); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []ChartRef{
		{Ref: "oci://" + host + "/charts/fx-platform", Version: "0.1.0"},
		{Ref: "oci://" + host + "/charts/fx-platform"},
	} {
		ch, err := ref.Pull(context.Background(), image.Remote{})
		if err != nil {
			t.Fatalf("Pull(%+v) error = %v", ref, err)
		}
		if ch.Metadata.Name != "fx-platform" || ch.Metadata.Version != "0.1.0" {
			t.Errorf("Pull(%+v) = %s %s", ref, ch.Metadata.Name, ch.Metadata.Version)
		}
	}
}
