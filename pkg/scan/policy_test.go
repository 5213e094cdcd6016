package scan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/fxplatform/deploy-actions/pkg/scan"
	"github.com/fxplatform/deploy-actions/pkg/scan/scantest"
)

// fixtureFindings scans the fixture image once per test.
func fixtureFindings(t *testing.T) []scan.Finding {
	t.Helper()
	img, _ := scantest.OpenImage(t)
	_, findings, err := scan.Scan(context.Background(), img, scan.OfflineDB{Path: scantest.DB()}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return findings
}

func TestEvaluate(t *testing.T) {
	findings := fixtureFindings(t)
	ignores, err := scan.ParseIgnores([]byte(`
[[IgnoredVulns]]
id = "GHSA-xvch-5gv4-984h"
ignoreUntil = 2027-01-31
reason = "minimist is only used by the build, not at run time"

[[IgnoredVulns]]
id = "CVE-2021-23337"
reason = "template() is never called with user input"

[[IgnoredVulns]]
id = "GHSA-p6mc-m468-83gw"
ignoreUntil = 2026-10-01T00:00:00Z
reason = "expired: upgrade was promised for October"
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		policy      scan.Policy
		wantPassed  bool
		wantCounts  map[string]int
		wantExpired int
	}{
		{"high threshold fails on critical and high", scan.Policy{Threshold: scan.High},
			false, map[string]int{"critical": 1, "high": 3, "medium": 2, "low": 0, "unknown": 2, "total": 8}, 0},
		{"critical threshold fails on minimist", scan.Policy{Threshold: scan.Critical},
			false, map[string]int{"critical": 1, "high": 3, "medium": 2, "low": 0, "unknown": 2, "total": 8}, 0},
		{"none never fails", scan.Policy{None: true},
			true, map[string]int{"critical": 1, "high": 3, "medium": 2, "low": 0, "unknown": 2, "total": 8}, 0},
		{"ignores: live one silences, expired one counts again", scan.Policy{Threshold: scan.Critical, Ignores: ignores, Now: scantest.Now},
			true, map[string]int{"critical": 0, "high": 2, "medium": 2, "low": 0, "unknown": 2, "total": 6}, 1},
		{"ignores: high still fails on the expired ignore", scan.Policy{Threshold: scan.High, Ignores: ignores, Now: scantest.Now},
			false, map[string]int{"critical": 0, "high": 2, "medium": 2, "low": 0, "unknown": 2, "total": 6}, 1},
		{"ignores after the minimist ignore lapses", scan.Policy{Threshold: scan.Critical, Ignores: ignores, Now: scantest.Now.Add(90 * 24 * time.Hour)},
			false, map[string]int{"critical": 1, "high": 2, "medium": 2, "low": 0, "unknown": 2, "total": 7}, 2},
		{"only-fixed drops express, zlib", scan.Policy{Threshold: scan.Medium, OnlyFixed: true},
			false, map[string]int{"critical": 1, "high": 3, "medium": 0, "low": 0, "unknown": 2, "total": 6}, 0},
		{"medium threshold with only-fixed and ignores passes", scan.Policy{Threshold: scan.Medium, OnlyFixed: true, Ignores: append(ignores[:2:2], scan.Ignore{ID: "GHSA-p6mc-m468-83gw"}, scan.Ignore{ID: "CVE-2099-0002"}), Now: scantest.Now},
			true, map[string]int{"critical": 0, "high": 0, "medium": 0, "low": 0, "unknown": 2, "total": 2}, 0},
		{"low threshold fails on unknown severity alone", scan.Policy{Threshold: scan.Low, OnlyFixed: true, Ignores: append(ignores[:2:2], scan.Ignore{ID: "GHSA-p6mc-m468-83gw"}, scan.Ignore{ID: "CVE-2099-0002"}), Now: scantest.Now},
			false, map[string]int{"critical": 0, "high": 0, "medium": 0, "low": 0, "unknown": 2, "total": 2}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := append([]scan.Finding(nil), findings...)
			r := scan.Evaluate("img", 6, fs, tc.policy)
			if r.Passed != tc.wantPassed {
				t.Errorf("passed = %v, want %v (err %v)", r.Passed, tc.wantPassed, r.Err())
			}
			if !maps.Equal(r.Counts, tc.wantCounts) {
				t.Errorf("counts = %v, want %v", r.Counts, tc.wantCounts)
			}
			if len(r.ExpiredIgnores) != tc.wantExpired {
				t.Errorf("expired ignores = %v, want %d", r.ExpiredIgnores, tc.wantExpired)
			}
			if got := r.Err(); (got == nil) != tc.wantPassed || (got != nil && !errors.Is(got, scan.ErrThreshold)) {
				t.Errorf("Err() = %v", got)
			}
		})
	}
}

func TestParseIgnoresRejects(t *testing.T) {
	for _, tc := range []struct{ name, toml string }{
		{"no id", "[[IgnoredVulns]]\nreason = \"x\"\n"},
		{"not toml", "[[IgnoredVulns]\n"},
		{"ignoreUntil not a date", "[[IgnoredVulns]]\nid = \"X\"\nignoreUntil = \"soon\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := scan.ParseIgnores([]byte(tc.toml)); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestSARIFValidatesAgainstSchema(t *testing.T) {
	findings := fixtureFindings(t)
	c := jsonschema.NewCompiler()
	f, err := os.Open(filepath.Join(scantest.Testdata, "sarif-schema-2.1.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("sarif-schema-2.1.0.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		policy scan.Policy
	}{
		{"critical threshold: every finding still written", scan.Policy{Threshold: scan.Critical}},
		{"with ignores: suppressed results", scan.Policy{Threshold: scan.High, Ignores: []scan.Ignore{{ID: "GHSA-xvch-5gv4-984h", Reason: "build only"}}, Now: scantest.Now}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := scan.Evaluate("img", 6, append([]scan.Finding(nil), findings...), tc.policy)
			var buf bytes.Buffer
			if err := scan.WriteSARIF(&buf, r); err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(inst); err != nil {
				t.Fatalf("SARIF does not validate: %v\n%s", err, buf.String())
			}
			var got struct {
				Runs []struct {
					Results []struct {
						RuleID    string `json:"ruleId"`
						Locations []struct {
							PhysicalLocation struct {
								ArtifactLocation struct{ URI string }    `json:"artifactLocation"`
								Region           struct{ StartLine int } `json:"region"`
							} `json:"physicalLocation"`
						} `json:"locations"`
						Suppressions []struct{ Justification string } `json:"suppressions"`
					} `json:"results"`
				} `json:"runs"`
			}
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			res := got.Runs[0].Results
			if len(res) != len(findings) {
				t.Fatalf("%d results, want every finding (%d)", len(res), len(findings))
			}
			for _, r := range res {
				loc := r.Locations[0].PhysicalLocation
				if loc.ArtifactLocation.URI == "" || loc.ArtifactLocation.URI[0] == '/' || loc.Region.StartLine != 1 {
					t.Errorf("%s: location %+v is not one GitHub accepts (relative URI, startLine)", r.RuleID, loc)
				}
				if (r.RuleID == "GHSA-xvch-5gv4-984h") != (len(r.Suppressions) == 1) && len(tc.policy.Ignores) > 0 {
					t.Errorf("%s: suppressions %v", r.RuleID, r.Suppressions)
				}
			}
		})
	}
}

func TestDatabaseErrors(t *testing.T) {
	img, _ := scantest.OpenImage(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "npm"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "npm", "all.zip"), []byte("not a zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		m    scan.Matcher
	}{
		{"missing directory", scan.OfflineDB{Path: filepath.Join(dir, "nope")}},
		{"corrupt all.zip", scan.OfflineDB{Path: dir}},
		{"ecosystem missing from the database", scan.OfflineDB{Path: scantest.ZipDBWithout(t, "Debian")}},
		{"OSV API answering 500", scan.API{URL: failingAPI(t), Retries: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, findings, err := scan.Scan(context.Background(), img, tc.m, 0)
			var dbErr *scan.DatabaseError
			if !errors.As(err, &dbErr) {
				t.Fatalf("err = %v (findings %d), want a *scan.DatabaseError", err, len(findings))
			}
		})
	}
}
