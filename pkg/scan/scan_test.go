package scan_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/scan"
	"github.com/fxplatform/deploy-actions/pkg/scan/scantest"
)

// brief is a finding reduced to what the fixtures decide.
func brief(f scan.Finding) string {
	return fmt.Sprintf("%s %s@%s %s %s fixed=%v", f.ID, f.Package, f.Version, f.Path, f.Rating, f.Fixed)
}

func TestScanFindsFixtureVulnerabilities(t *testing.T) {
	img, _ := scantest.OpenImage(t)
	for _, tc := range []struct {
		name string
		db   func(t *testing.T) string
	}{
		{"json records per ecosystem", func(*testing.T) string { return scantest.DB() }},
		{"all.zip per ecosystem", scantest.ZipDB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, findings, err := scan.Scan(context.Background(), img, scan.OfflineDB{Path: tc.db(t)}, 0)
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			var got []string
			for _, f := range findings {
				got = append(got, brief(f))
			}
			want := []string{
				"GHSA-xvch-5gv4-984h minimist@1.2.5 app/package-lock.json critical fixed=[1.2.6]",
				"GO-2099-0002 golang.org/x/text@" + strings.TrimPrefix(scantest.ModuleVersion(t, "golang.org/x/text"), "v") + " usr/local/bin/server high fixed=[0.99.0]",
				"GHSA-35jh-r3h4-6jhm lodash@4.17.15 app/package-lock.json high fixed=[4.17.21]",
				"GHSA-p6mc-m468-83gw lodash@4.17.15 app/package-lock.json high fixed=[4.17.19]",
				"GHSA-fx00-test-0001 express@4.21.2 app/package-lock.json medium fixed=[]",
				"DEBIAN-CVE-2023-45853 zlib1g@1:1.2.13.dfsg-1 var/lib/dpkg/status medium fixed=[]",
				"GO-2099-9999 go@" + scantest.GoVersion(t) + " usr/local/bin/server unknown fixed=[1.99.0]",
				"DSA-5764-1 libssl3@3.0.11-1~deb12u2 var/lib/dpkg/status unknown fixed=[3.0.14-1~deb12u2]",
			}
			if !slices.Equal(got, want) {
				t.Errorf("findings:\n got %q\nwant %q", got, want)
			}
		})
	}
}
