package main

import (
	"testing"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/scan"
)

// TestSummary compares the step summary with testdata/summary-*.md.
func TestSummary(t *testing.T) {
	const image = "127.0.0.1:5000/fx-platform@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	findings := func() []scan.Finding {
		return []scan.Finding{
			{ID: "GHSA-xvch-5gv4-984h", Package: "minimist", Version: "1.2.5", Ecosystem: "npm", Locations: []scan.Location{{Path: "app/node_modules/minimist/package.json"}},
				Fixed: []string{"1.2.6"}, Severity: scan.Critical, Rating: "critical"},
			{ID: "GHSA-35jh-r3h4-6jhm", Package: "lodash", Version: "4.17.20", Ecosystem: "npm", Locations: []scan.Location{{Path: "app/node_modules/lodash/package.json"}, {Path: "app/package-lock.json"}},
				Fixed: []string{"4.17.21"}, Severity: scan.High, Rating: "high"},
			{ID: "CVE-2023-0001", Package: "libssl3", Version: "3.0.11-1~deb12u1", Ecosystem: "Debian:12", Locations: []scan.Location{{Path: "var/lib/dpkg/status"}},
				Fixed: []string{"3.0.11-1~deb12u2", "3.0.13-1~deb12u1"}, Severity: scan.High, Rating: "high"},
			{ID: "GHSA-rv95-896h-c2vc", Package: "express", Version: "4.17.1", Ecosystem: "npm", Locations: []scan.Location{{Path: "app/node_modules/express/package.json"}},
				Severity: scan.Medium, Rating: "medium"},
			{ID: "CVE-2023-45853", Package: "zlib1g", Version: "1:1.2.13.dfsg-1", Ecosystem: "Debian:12", Locations: []scan.Location{{Path: "var/lib/dpkg/status"}},
				Severity: scan.Unknown, Rating: "unknown"},
		}
	}
	ignores := []scan.Ignore{
		{ID: "GHSA-xvch-5gv4-984h", IgnoreUntil: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), Reason: "build-time only"},
		{ID: "GHSA-35jh-r3h4-6jhm", IgnoreUntil: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Reason: "was to be upgraded in 2019 | soon"},
		{ID: "CVE-2023-0001", Reason: "not reachable"},
	}
	tests := []struct {
		name   string
		policy scan.Policy
		golden string
	}{
		{"failed at high", scan.Policy{Threshold: scan.High, Now: now}, "summary-failed.md"},
		{"passed with none", scan.Policy{None: true, Now: now}, "summary-passed.md"},
		{"ignores, one expired, at critical", scan.Policy{Threshold: scan.Critical, Ignores: ignores, Now: now}, "summary-ignored.md"},
		{"only fixed at medium", scan.Policy{Threshold: scan.Medium, OnlyFixed: true, Now: now}, "summary-only-fixed.md"},
		{"unknown fails low", scan.Policy{Threshold: scan.Low, Now: now}, "summary-low.md"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := scan.Evaluate(image, 214, findings(), tc.policy)
			actiontest.CheckGolden(t, tc.golden, summary(r, tc.policy))
		})
	}
}
