package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/scan/scantest"
)

func TestRun(t *testing.T) {
	host := scantest.StartRegistry(t)
	ref := scantest.PushImage(t, host).String()
	dir := t.TempDir()
	ignoreFile := filepath.Join(dir, "osv-scanner.toml")
	if err := os.WriteFile(ignoreFile, []byte(`
[[IgnoredVulns]]
id = "GHSA-xvch-5gv4-984h"
ignoreUntil = 2099-01-01
reason = "build-time only"

[[IgnoredVulns]]
id = "GHSA-35jh-r3h4-6jhm"
ignoreUntil = 2020-01-01
reason = "was to be upgraded in 2019"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		inputs      map[string]string
		wantCode    int
		wantOutputs map[string]string
		wantSummary []string
	}{
		{
			name:        "high threshold fails on the critical and high findings",
			inputs:      map[string]string{"severity-threshold": "high"},
			wantCode:    1,
			wantOutputs: map[string]string{"passed": "false", "critical": "1", "high": "3", "medium": "2", "low": "0", "total": "8"},
			wantSummary: []string{"failed (threshold high)", "GHSA-xvch-5gv4-984h", "1.2.6", "GHSA-35jh-r3h4-6jhm"},
		},
		{
			name:        "none passes and still writes every finding",
			inputs:      map[string]string{"severity-threshold": "none"},
			wantCode:    0,
			wantOutputs: map[string]string{"passed": "true", "critical": "1", "high": "3", "medium": "2", "low": "0", "total": "8"},
			wantSummary: []string{"passed (threshold none)"},
		},
		{
			name:        "critical threshold with the minimist ignore passes; the expired one is reported",
			inputs:      map[string]string{"severity-threshold": "critical", "ignore-file": ignoreFile},
			wantCode:    0,
			wantOutputs: map[string]string{"passed": "true", "critical": "0", "high": "3", "medium": "2", "low": "0", "total": "7"},
			wantSummary: []string{"build-time only", "Expired ignores", "was to be upgraded in 2019"},
		},
		{
			name:        "only-fixed drops the unfixed express and zlib findings",
			inputs:      map[string]string{"severity-threshold": "none", "only-fixed": "true"},
			wantCode:    0,
			wantOutputs: map[string]string{"passed": "true", "critical": "1", "high": "3", "medium": "0", "low": "0", "total": "6"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			inputs := map[string]string{
				"image": ref, "osv-db": scantest.DB(), "insecure-registries": host,
				"sarif-file": filepath.Join(out, "scan.sarif"), "json-file": filepath.Join(out, "scan.json"),
				"sbom-file": filepath.Join(out, "sbom.json"),
			}
			maps.Copy(inputs, tc.inputs)
			r := actiontest.New(t, inputs)
			if code := r.Run(context.Background(), spec, run); code != tc.wantCode {
				t.Fatalf("exit %d, want %d\n%s", code, tc.wantCode, r.Log.String())
			}
			got := r.Outputs()
			for k, v := range tc.wantOutputs {
				if got[k] != v {
					t.Errorf("output %s = %q, want %q", k, got[k], v)
				}
			}
			for _, s := range tc.wantSummary {
				if !strings.Contains(r.Summary(), s) {
					t.Errorf("summary lacks %q:\n%s", s, r.Summary())
				}
			}
			var sarif struct {
				Runs []struct{ Results []json.RawMessage }
			}
			readJSON(t, got["sarif-file"], &sarif)
			if n := len(sarif.Runs[0].Results); n != 8 {
				t.Errorf("SARIF has %d results, want all 8 whatever the threshold", n)
			}
			var sbom struct {
				BOMFormat  string
				Components []struct{ Name, Version string }
			}
			readJSON(t, got["sbom-file"], &sbom)
			if sbom.BOMFormat != "CycloneDX" || len(sbom.Components) < 7 {
				t.Errorf("SBOM: format %q, %d components", sbom.BOMFormat, len(sbom.Components))
			}
		})
	}
}

func TestRunSPDX(t *testing.T) {
	host := scantest.StartRegistry(t)
	ref := scantest.PushImage(t, host).String()
	sbom := filepath.Join(t.TempDir(), "sbom.spdx.json")
	r := actiontest.New(t, map[string]string{"image": ref, "osv-db": scantest.DB(), "insecure-registries": host,
		"severity-threshold": "none", "sbom-file": sbom, "sbom-format": "spdx", "sarif-file": "none"})
	if code := r.Run(context.Background(), spec, run); code != 0 {
		t.Fatalf("exit %d\n%s", code, r.Log.String())
	}
	var doc struct {
		SPDXVersion string `json:"spdxVersion"`
		Packages    []struct {
			Name string `json:"name"`
		} `json:"packages"`
	}
	readJSON(t, sbom, &doc)
	names := map[string]bool{}
	for _, p := range doc.Packages {
		names[p.Name] = true
	}
	if doc.SPDXVersion != "SPDX-2.3" || !names["lodash"] || !names["libssl3"] {
		t.Errorf("SPDX %q with packages %v", doc.SPDXVersion, names)
	}
}

func TestRunDatabaseFailureExits2(t *testing.T) {
	host := scantest.StartRegistry(t)
	ref := scantest.PushImage(t, host).String()
	// A 4xx is not retried, so the test does not wait out the client's
	// backoff; 5xx answers are covered in pkg/scan with one attempt.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "bad request", http.StatusBadRequest)
	}))
	defer api.Close()
	for _, tc := range []struct {
		name   string
		inputs map[string]string
	}{
		{"ecosystem missing from the offline database", map[string]string{"osv-db": scantest.ZipDBWithout(t, "npm")}},
		{"OSV API failing", map[string]string{"osv-api-url": api.URL}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inputs := map[string]string{"image": ref, "insecure-registries": host, "sarif-file": ""}
			maps.Copy(inputs, tc.inputs)
			r := actiontest.New(t, inputs)
			if code := r.Run(context.Background(), spec, run); code != 2 {
				t.Fatalf("exit %d, want 2\n%s", code, r.Log.String())
			}
			if out := r.Outputs(); out["passed"] != "" || out["total"] != "" {
				t.Errorf("outputs %v: a failed database must not read as a result", out)
			}
			if errs := r.Annotations("error"); len(errs) != 1 || !strings.Contains(errs[0], "vulnerability database") {
				t.Errorf("error annotations %q", errs)
			}
		})
	}
}

// TestRunPastMemoryBudgetExits2: a lockfile of 24 MiB of whitespace (a
// few kilobytes compressed) against a budget of 16 MiB stops the scan with
// exit 2 and no result, never a pass.
func TestRunPastMemoryBudgetExits2(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	blank := bytes.Repeat([]byte(" "), 24<<20)
	tw.WriteHeader(&tar.Header{Name: "app/package-lock.json", Mode: 0o644, Size: int64(len(blank)), Typeflag: tar.TypeReg})
	tw.Write(blank)
	tw.Close()
	l, err := tarball.LayerFromReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(t.TempDir(), "image.tar")
	ref, _ := name.ParseReference("127.0.0.1:5000/fx/app:big")
	if err := tarball.WriteToFile(tarPath, ref, img); err != nil {
		t.Fatal(err)
	}
	dig, _ := img.Digest()
	r := actiontest.New(t, map[string]string{
		"image": "127.0.0.1:5000/fx/app@" + dig.String(), "image-tarball": tarPath,
		"osv-db": scantest.DB(), "memory-budget": "16MiB", "sarif-file": "",
	})
	if code := r.Run(context.Background(), spec, run); code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, r.Log.String())
	}
	if out := r.Outputs(); out["passed"] != "" || out["total"] != "" {
		t.Errorf("outputs %v: an incomplete scan must not read as a result", out)
	}
	if errs := r.Annotations("error"); len(errs) != 1 || !strings.Contains(errs[0], `"app/package-lock.json" (25165824 bytes) does not fit in the scan's memory budget`) || !strings.Contains(errs[0], "raise memory-budget (now 16MiB)") {
		t.Errorf("error annotations %q", errs)
	}
}

func TestRunRejectsBadInputBeforeAnyRequest(t *testing.T) {
	reg := actiontest.NewServer(t, nil)
	host := reg.Host()
	digest := host + "/fx/app@sha256:" + strings.Repeat("a", 64)
	actiontest.BadInputs{
		Spec: spec, Run: run,
		Good:    map[string]string{"image": digest, "osv-db": scantest.DB(), "insecure-registries": host},
		Servers: []*actiontest.Server{reg},
	}.Test(t, []actiontest.BadInput{
		{Name: "tag instead of digest", Set: map[string]string{"image": host + "/fx/app:1.2.3"}, Input: "image"},
		{Name: "unknown threshold", Set: map[string]string{"severity-threshold": "severe"}, Input: "severity-threshold"},
		{Name: "missing osv-db", Set: map[string]string{"osv-db": "/nonexistent/osv"}, Input: "osv-db"},
		{Name: "bad ignore file", Set: map[string]string{"ignore-file": "/nonexistent/osv-scanner.toml"}, Input: "ignore-file"},
		{Name: "unknown sbom format", Set: map[string]string{"sbom-format": "swid"}, Input: "sbom-format"},
		{Name: "sarif directory missing", Set: map[string]string{"sarif-file": "/nonexistent/dir/scan.sarif"}, Input: "sarif-file"},
		{Name: "username without password", Set: map[string]string{"registry-username": "u"}, Input: "registry-password"},
		{Name: "insecure registry not a host", Set: map[string]string{"insecure-registries": host + "\nbad host/x"}, Input: "insecure-registries"},
		{Name: "memory budget not a size", Set: map[string]string{"memory-budget": "lots"}, Input: "memory-budget"},
		{Name: "memory budget too small", Set: map[string]string{"memory-budget": "1MiB"}, Input: "memory-budget"},
		{Name: "layout and tarball", Set: map[string]string{"oci-layout-path": t.TempDir(), "image-tarball": "/etc/hostname"}, Input: "image-tarball"},
	})
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
