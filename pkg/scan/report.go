package scan

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/osv-scalibr/converter"
	"github.com/google/osv-scalibr/enricher/vulnmatch/osvlocal"
	"github.com/google/osv-scalibr/inventory"
	osvpb "github.com/ossf/osv-schema/bindings/go/osvschema"
)

// Finding is one advisory affecting one package of the image.
type Finding struct {
	ID        string   `json:"id"`
	Aliases   []string `json:"aliases,omitempty"`
	Summary   string   `json:"summary,omitempty"`
	Package   string   `json:"package"`
	Version   string   `json:"version"`
	Ecosystem string   `json:"ecosystem"`
	PURL      string   `json:"purl,omitempty"`
	// Locations are the files the package was found in, sorted: one
	// package at one version in a lockfile and in node_modules, or in two
	// applications' lockfiles, is one finding.
	Locations []Location `json:"locations,omitempty"`
	Fixed     []string   `json:"fixed,omitempty"` // versions that fix it, if any
	Severity  Severity   `json:"-"`
	Rating    string     `json:"severity"`
	Score     float64    `json:"cvssScore,omitempty"`
	Vector    string     `json:"cvssVector,omitempty"`
	// Ignored holds the ignore entry that silences the finding, when one
	// applies and has not expired.
	Ignored *Ignore `json:"ignored,omitempty"`
	// ExpiredIgnore holds an ignore entry for the finding that has lapsed:
	// the finding counts again.
	ExpiredIgnore *Ignore `json:"expiredIgnore,omitempty"`
	// Unfixed findings are left out of the gate when only-fixed is set.
	SkippedUnfixed bool `json:"skippedUnfixed,omitempty"`
}

// Location is one file a package was found in.
type Location struct {
	// Path is relative to the image root.
	Path string `json:"path"`
	// Layer is the diff ID of the layer that added Path.
	Layer string `json:"layer,omitempty"`
}

// Paths lists where f's package was found: its first location, and how
// many more there are.
func (f Finding) Paths() string {
	switch len(f.Locations) {
	case 0:
		return ""
	case 1:
		return f.Locations[0].Path
	}
	return fmt.Sprintf("%s and %d more", f.Locations[0].Path, len(f.Locations)-1)
}

// findingKey is what makes two matches one finding: the advisory, and the
// package at its version in its ecosystem (grype merges a package's
// locations the same way; trivy's image mode reports an installed package
// once).
type findingKey struct{ id, ecosystem, pkg, version string }

// Findings turns matched advisories into findings, one per advisory and
// package version with every location of it, sorted by severity (highest
// first), then package and ID.
func Findings(inv *Inventory, vulns []*inventory.PackageVuln) []Finding {
	out := make([]Finding, 0, len(vulns))
	at := map[findingKey]int{}
	for _, pv := range vulns {
		p, v := pv.Package, pv.Vulnerability
		affected := affecting(v, pv)
		r := rate(v, affected)
		var loc []Location
		if path := p.Location.PathOrEmpty(); path != "" {
			l := Location{Path: path}
			if h, ok := inv.Layer(path); ok {
				l.Layer = h.String()
			}
			loc = append(loc, l)
		}
		f := Finding{
			ID: v.GetId(), Aliases: v.GetAliases(), Summary: v.GetSummary(),
			Package: p.Name, Version: p.Version, Ecosystem: p.Ecosystem().String(),
			Locations: loc, Fixed: fixedVersions(affected),
			Severity: r.Severity, Rating: r.Severity.String(), Score: r.Score, Vector: r.Vector,
		}
		if u := converter.ToPURL(p); u != nil {
			f.PURL = u.String()
		}
		key := findingKey{f.ID, f.Ecosystem, f.Package, f.Version}
		i, seen := at[key]
		if !seen {
			at[key] = len(out)
			out = append(out, f)
			continue
		}
		merge(&out[i], f)
	}
	out = mergeAliases(out)
	for i := range out {
		slices.SortFunc(out[i].Locations, func(a, b Location) int { return cmp.Compare(a.Path, b.Path) })
		out[i].Locations = slices.Compact(out[i].Locations)
	}
	slices.SortFunc(out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.Package, b.Package),
			cmp.Compare(a.Version, b.Version), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Paths(), b.Paths()))
	})
	return out
}

// mergeAliases makes one finding of the advisories that name one
// vulnerability of one package version: osv.dev holds a Go vulnerability
// as GO-… and as GHSA-…, a Python one as PYSEC-… and GHSA-…, one listing
// the other among its aliases. Two findings are one when one's ID is among
// the other's aliases, and a group is merged only when every two of its
// members are so linked: a shared CVE alias, or a chain through a third
// advisory that lists two CVEs, never merges two vulnerabilities (an
// ignore of one would silence the other). The merged finding keeps the ID
// of the ecosystem's own database (GO-, PYSEC-, DSA-…) before a GHSA
// before a CVE; the other IDs become aliases, so an ignore of any of them
// silences it, as osv-scanner's grouping does.
func mergeAliases(fs []Finding) []Finding {
	type pkgKey struct{ ecosystem, pkg, version string }
	groups := map[pkgKey][]int{}
	var order []pkgKey
	for i, f := range fs {
		k := pkgKey{f.Ecosystem, f.Package, f.Version}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	linked := func(a, b Finding) bool { return slices.Contains(a.Aliases, b.ID) || slices.Contains(b.Aliases, a.ID) }
	out := make([]Finding, 0, len(fs))
	for _, k := range order {
		idx := groups[k]
		slices.SortStableFunc(idx, func(a, b int) int {
			return cmp.Or(cmp.Compare(idRank(fs[a].ID), idRank(fs[b].ID)), cmp.Compare(fs[a].ID, fs[b].ID))
		})
		var cliques [][]int
		for _, i := range idx {
			placed := false
			for c, members := range cliques {
				if !slices.ContainsFunc(members, func(m int) bool { return !linked(fs[i], fs[m]) }) {
					cliques[c] = append(members, i)
					placed = true
					break
				}
			}
			if !placed {
				cliques = append(cliques, []int{i})
			}
		}
		for _, members := range cliques {
			f := fs[members[0]]
			names := slices.Clone(f.Aliases)
			for _, m := range members[1:] {
				merge(&f, fs[m])
				names = append(names, fs[m].ID)
				names = append(names, fs[m].Aliases...)
			}
			slices.Sort(names)
			f.Aliases = slices.DeleteFunc(slices.Compact(names), func(n string) bool { return n == f.ID })
			out = append(out, f)
		}
	}
	return out
}

// idRank orders the IDs of one vulnerability for the one a merged finding
// keeps: the ecosystem's own database, then GitHub's, then the CVE.
func idRank(id string) int {
	switch {
	case strings.HasPrefix(id, "CVE-"):
		return 2
	case strings.HasPrefix(id, "GHSA-"):
		return 1
	}
	return 0
}

// merge adds g, another match of f's advisory and package version, to f:
// its location, any fixed version f lacks, and the higher rating should the
// two differ (the same advisory rates one version the same way, but an
// ecosystem-specific severity may differ).
func merge(f *Finding, g Finding) {
	f.Locations = append(f.Locations, g.Locations...)
	for _, v := range g.Fixed {
		if !slices.Contains(f.Fixed, v) {
			f.Fixed = append(f.Fixed, v)
		}
	}
	if g.Severity > f.Severity || g.Severity == f.Severity && g.Score > f.Score {
		f.Severity, f.Rating, f.Score, f.Vector = g.Severity, g.Rating, g.Score, g.Vector
	}
}

// affecting returns the affected entries of v that match the package, as
// OSV-SCALIBR's matcher decides it.
func affecting(v *osvpb.Vulnerability, pv *inventory.PackageVuln) []*osvpb.Affected {
	var out []*osvpb.Affected
	for _, a := range v.GetAffected() {
		one := &osvpb.Vulnerability{Id: v.GetId(), Affected: []*osvpb.Affected{a}}
		if len(osvlocal.VulnerabilitiesAffectingPackage([]*osvpb.Vulnerability{one}, pv.Package)) > 0 {
			out = append(out, a)
		}
	}
	return out
}

func fixedVersions(affected []*osvpb.Affected) []string {
	var out []string
	for _, a := range affected {
		for _, r := range a.GetRanges() {
			for _, e := range r.GetEvents() {
				if e.GetFixed() != "" && !slices.Contains(out, e.GetFixed()) {
					out = append(out, e.GetFixed())
				}
			}
		}
	}
	return out
}

// Policy decides which findings fail the scan.
type Policy struct {
	// Threshold fails the scan on a finding at or above it; Unknown with
	// None set means never fail.
	Threshold Severity
	None      bool
	// OnlyFixed leaves findings without a fixed version out of the gate.
	OnlyFixed bool
	Ignores   []Ignore
	Now       time.Time
}

// Report is the outcome of a scan.
type Report struct {
	Image     string    `json:"image"`
	Packages  int       `json:"packages"`
	Findings  []Finding `json:"findings"`
	Threshold string    `json:"threshold"`
	Passed    bool      `json:"passed"`
	// Counts are the findings that count (not ignored, not skipped as
	// unfixed) by severity name, and "total".
	Counts map[string]int `json:"counts"`
	// ExpiredIgnores are ignore entries past their ignoreUntil.
	ExpiredIgnores []Ignore `json:"expiredIgnores,omitempty"`
}

// Evaluate applies the policy to the findings.
func Evaluate(image string, packages int, findings []Finding, p Policy) *Report {
	r := &Report{Image: image, Packages: packages, Findings: findings, Passed: true,
		Counts: map[string]int{"critical": 0, "high": 0, "medium": 0, "low": 0, "unknown": 0, "total": 0}}
	r.Threshold = p.Threshold.String()
	if p.None {
		r.Threshold = "none"
	}
	for _, ig := range p.Ignores {
		if ig.Expired(p.Now) {
			r.ExpiredIgnores = append(r.ExpiredIgnores, ig)
		}
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		if ig, ok := findIgnore(p.Ignores, f); ok {
			if ig.Expired(p.Now) {
				f.ExpiredIgnore = &ig
			} else {
				f.Ignored = &ig
				continue
			}
		}
		if p.OnlyFixed && len(f.Fixed) == 0 {
			f.SkippedUnfixed = true
			continue
		}
		r.Counts[f.Rating]++
		r.Counts["total"]++
		if r.Fails(*f, p) {
			r.Passed = false
		}
	}
	return r
}

// Fails says whether a counted finding fails the policy. A finding of
// unknown severity fails only a "low" threshold: it cannot be ranked higher
// without a rating, and must not pass a gate that asks for everything.
func (r *Report) Fails(f Finding, p Policy) bool {
	if p.None || f.Ignored != nil || f.SkippedUnfixed {
		return false
	}
	if f.Severity == Unknown {
		return p.Threshold <= Low
	}
	return f.Severity >= p.Threshold
}

// Err is ErrThreshold, wrapped with the counts, when the scan failed.
func (r *Report) Err() error {
	if r.Passed {
		return nil
	}
	return fmt.Errorf("%w (%s): %d critical, %d high, %d medium, %d low",
		ErrThreshold, r.Threshold, r.Counts["critical"], r.Counts["high"], r.Counts["medium"], r.Counts["low"])
}

func findIgnore(igs []Ignore, f *Finding) (Ignore, bool) {
	for _, ig := range igs {
		if ig.ID == f.ID || slices.Contains(f.Aliases, ig.ID) {
			return ig, true
		}
	}
	return Ignore{}, false
}
