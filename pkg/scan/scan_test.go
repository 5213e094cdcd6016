package scan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/fxplatform/deploy-actions/pkg/scan"
	"github.com/fxplatform/deploy-actions/pkg/scan/scantest"
)

// brief is a finding reduced to what the fixtures decide.
func brief(f scan.Finding) string {
	return fmt.Sprintf("%s %s@%s %s %s fixed=%v", f.ID, f.Package, f.Version, f.Paths(), f.Rating, f.Fixed)
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

// TestOnePackageOneFinding: lodash 4.17.15 in the lockfile, installed in
// node_modules, and in a second application's lockfile is one package at
// one version: each of its two advisories is one finding with three
// locations (before, six High findings were counted). lodash 4.17.20
// installed elsewhere is another version: its finding stays apart.
func TestOnePackageOneFinding(t *testing.T) {
	lock, err := os.ReadFile(scantest.Testdata + "/rootfs/app/package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	installed := func(v string) []byte { return []byte(`{"name": "lodash", "version": "` + v + `"}`) }
	img, err := mutate.AppendLayers(empty.Image,
		layer(t, entry{"app/package-lock.json", lock}, entry{"app/node_modules/lodash/package.json", installed("4.17.15")}),
		layer(t, entry{"srv/package-lock.json", lock}, entry{"tools/node_modules/lodash/package.json", installed("4.17.20")}))
	if err != nil {
		t.Fatal(err)
	}
	_, findings, err := scan.Scan(context.Background(), img, scan.OfflineDB{Path: scantest.DB()}, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, f := range findings {
		if f.Package != "lodash" {
			continue
		}
		key := f.ID + " " + f.Version
		if _, dup := got[key]; dup {
			t.Errorf("%s is reported twice", key)
		}
		for _, l := range f.Locations {
			if !strings.HasPrefix(l.Layer, "sha256:") {
				t.Errorf("%s: location %s has no layer", key, l.Path)
			}
			got[key] = append(got[key], l.Path)
		}
	}
	three := []string{"app/node_modules/lodash/package.json", "app/package-lock.json", "srv/package-lock.json"}
	want := map[string][]string{
		"GHSA-35jh-r3h4-6jhm 4.17.15": three,
		"GHSA-p6mc-m468-83gw 4.17.15": three,
		"GHSA-35jh-r3h4-6jhm 4.17.20": {"tools/node_modules/lodash/package.json"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lodash findings and their locations:\n got %v\nwant %v", got, want)
	}

	// The counts, the threshold and SARIF see the same findings.
	rep := scan.Evaluate("img", 0, findings, scan.Policy{Threshold: scan.High})
	var lodashHigh int
	for _, f := range rep.Findings {
		if f.Package == "lodash" && f.Severity == scan.High {
			lodashHigh++
		}
	}
	if lodashHigh != 3 {
		t.Errorf("%d High lodash findings, want 3", lodashHigh)
	}
	var sarifOut bytes.Buffer
	if err := scan.WriteSARIF(&sarifOut, rep); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Runs []struct {
			Results []struct {
				RuleID    string `json:"ruleId"`
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(sarifOut.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, r := range doc.Runs[0].Results {
		if r.RuleID == "GHSA-p6mc-m468-83gw" {
			var uris []string
			for _, l := range r.Locations {
				uris = append(uris, l.PhysicalLocation.ArtifactLocation.URI)
			}
			if !slices.Equal(uris, three) {
				t.Errorf("SARIF result for GHSA-p6mc-m468-83gw has locations %v, want %v", uris, three)
			}
		}
	}
}

// TestAliasesAreOneFinding: osv.dev holds one Go vulnerability as GO-… and
// as GHSA-…, each naming the other among its aliases. Here the fixture's
// GO-2099-0002 gets such a GHSA twin: the package version has one finding,
// under the GO ID with the GHSA among its aliases, counted once; an ignore
// of either ID silences it.
func TestAliasesAreOneFinding(t *testing.T) {
	const twinID = "GHSA-fx00-go00-0002"
	db := goDBWith(t, func(rec string) map[string]string {
		return map[string]string{
			"GO-2099-0002.json": strings.Replace(rec, `"aliases": ["CVE-2099-0002"]`, `"aliases": ["CVE-2099-0002", "`+twinID+`"]`, 1),
			twinID + ".json":    strings.Replace(rec, `"id": "GO-2099-0002"`, `"id": "`+twinID+`"`, 1),
		}
	})
	img, _ := scantest.OpenImage(t)
	_, findings, err := scan.Scan(context.Background(), img, scan.OfflineDB{Path: db}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var text []scan.Finding
	for _, f := range findings {
		if f.Package == "golang.org/x/text" {
			text = append(text, f)
		}
	}
	if len(text) != 1 || text[0].ID != "GO-2099-0002" || !slices.Contains(text[0].Aliases, twinID) {
		t.Fatalf("golang.org/x/text findings %+v, want one, GO-2099-0002 with %s among its aliases", text, twinID)
	}
	for _, id := range []string{"GO-2099-0002", twinID} {
		rep := scan.Evaluate("img", 0, findings, scan.Policy{Threshold: scan.High, Ignores: []scan.Ignore{{ID: id, Reason: "not reachable"}}})
		for _, f := range rep.Findings {
			if f.Package == "golang.org/x/text" && f.Ignored == nil {
				t.Errorf("ignoring %s leaves %s counted", id, f.ID)
			}
		}
	}
}

// TestAnAdvisoryOfTwoCVEsMergesNothing: two vulnerabilities of one package
// version (GO-2099-0002 is CVE-2099-0002; GO-2099-0003, critical, is
// CVE-2099-0003) and a GitHub advisory that lists both CVEs. No two of the
// three name each other, so they stay three findings, and an ignore of
// GO-2099-0002 leaves GO-2099-0003 counted (a transitive merge through the
// shared CVEs silenced it).
func TestAnAdvisoryOfTwoCVEsMergesNothing(t *testing.T) {
	db := goDBWith(t, func(rec string) map[string]string {
		return map[string]string{
			"GO-2099-0003.json": strings.NewReplacer(`"id": "GO-2099-0002"`, `"id": "GO-2099-0003"`, `"CVE-2099-0002"`, `"CVE-2099-0003"`,
				"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").Replace(rec),
			"GHSA-fx00-brdg-0001.json": strings.NewReplacer(`"id": "GO-2099-0002"`, `"id": "GHSA-fx00-brdg-0001"`,
				`"aliases": ["CVE-2099-0002"]`, `"aliases": ["CVE-2099-0002", "CVE-2099-0003"]`).Replace(rec),
		}
	})
	img, _ := scantest.OpenImage(t)
	_, findings, err := scan.Scan(context.Background(), img, scan.OfflineDB{Path: db}, 0)
	if err != nil {
		t.Fatal(err)
	}
	rep := scan.Evaluate("img", 0, findings, scan.Policy{Threshold: scan.High, Ignores: []scan.Ignore{{ID: "GO-2099-0002", Reason: "not imported"}}})
	ids, counted := []string{}, []string{}
	for _, f := range rep.Findings {
		if f.Package == "golang.org/x/text" {
			ids = append(ids, f.ID)
			if f.Ignored == nil {
				counted = append(counted, f.ID)
			}
		}
	}
	slices.Sort(ids)
	if want := []string{"GHSA-fx00-brdg-0001", "GO-2099-0002", "GO-2099-0003"}; !slices.Equal(ids, want) {
		t.Errorf("golang.org/x/text findings %v, want %v", ids, want)
	}
	if !slices.Contains(counted, "GO-2099-0003") {
		t.Errorf("ignoring GO-2099-0002 silenced GO-2099-0003: counted %v", counted)
	}
}

// goDBWith is a copy of the fixtures' offline database with Go records
// written over or added: edit gets the GO-2099-0002 record and returns the
// files to write (name -> JSON). Each must differ from that record, or the
// fixture changed shape and the test would prove nothing.
func goDBWith(t *testing.T, edit func(rec string) map[string]string) string {
	t.Helper()
	db := t.TempDir()
	if err := os.CopyFS(db, os.DirFS(scantest.DB())); err != nil {
		t.Fatal(err)
	}
	rec, err := os.ReadFile(filepath.Join(db, "Go", "GO-2099-0002.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range edit(string(rec)) {
		if body == string(rec) {
			t.Fatalf("%s: the fixture's GO-2099-0002 record changed shape: the test proves nothing", name)
		}
		if err := os.WriteFile(filepath.Join(db, "Go", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return db
}
