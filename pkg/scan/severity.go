package scan

import (
	"strings"

	osvpb "github.com/ossf/osv-schema/bindings/go/osvschema"
	cvss20 "github.com/pandatix/go-cvss/20"
	cvss30 "github.com/pandatix/go-cvss/30"
	cvss31 "github.com/pandatix/go-cvss/31"
	cvss40 "github.com/pandatix/go-cvss/40"
)

// Severity is a finding's rating, ordered: Unknown < Low < ... < Critical.
type Severity int

// The severities, in increasing order.
const (
	Unknown Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = []string{"unknown", "low", "medium", "high", "critical"}

func (s Severity) String() string { return severityNames[s] }

// ParseSeverity reads a rating word: critical, high, medium (or moderate), low.
func ParseSeverity(s string) (Severity, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical":
		return Critical, true
	case "high", "important":
		return High, true
	case "medium", "moderate":
		return Medium, true
	case "low", "negligible":
		return Low, true
	}
	return Unknown, false
}

// fromScore maps a CVSS base score to the qualitative rating of CVSS v3 and
// v4 (also applied to v2 scores, as NVD's v3 bands are what gates read).
func fromScore(score float64) Severity {
	switch {
	case score >= 9.0:
		return Critical
	case score >= 7.0:
		return High
	case score >= 4.0:
		return Medium
	case score > 0:
		return Low
	}
	return Unknown
}

// Rating is how a finding's severity was decided.
type Rating struct {
	Severity Severity
	Score    float64 // CVSS base score, 0 when rated by words
	Vector   string  // the CVSS vector scored, if any
}

// rate decides an advisory's severity for one package: the highest score of
// the CVSS vectors it carries (record-wide and on the affected entries), or
// when none parses, the advisory's own rating (GitHub's database_specific
// severity, a distribution's ecosystem_specific severity or urgency).
func rate(v *osvpb.Vulnerability, affected []*osvpb.Affected) Rating {
	var best Rating
	sevs := append([]*osvpb.Severity(nil), v.GetSeverity()...)
	for _, a := range affected {
		sevs = append(sevs, a.GetSeverity()...)
	}
	for _, s := range sevs {
		score, ok := cvssScore(s.GetScore())
		if ok && score > best.Score {
			best = Rating{Severity: fromScore(score), Score: score, Vector: s.GetScore()}
		}
	}
	if best.Vector != "" {
		return best
	}
	words := []string{structString(v.GetDatabaseSpecific().AsMap(), "severity")}
	for _, a := range affected {
		words = append(words,
			structString(a.GetDatabaseSpecific().AsMap(), "severity"),
			structString(a.GetEcosystemSpecific().AsMap(), "severity"),
			structString(a.GetEcosystemSpecific().AsMap(), "urgency"))
	}
	for _, w := range words {
		if s, ok := ParseSeverity(w); ok && s > best.Severity {
			best.Severity = s
		}
	}
	return best
}

func structString(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// cvssScore scores a CVSS v2, v3.0, v3.1 or v4.0 base vector.
func cvssScore(vector string) (float64, bool) {
	switch {
	case strings.HasPrefix(vector, "CVSS:4.0/"):
		c, err := cvss40.ParseVector(vector)
		if err != nil {
			return 0, false
		}
		return c.Score(), true
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		c, err := cvss31.ParseVector(vector)
		if err != nil {
			return 0, false
		}
		return c.BaseScore(), true
	case strings.HasPrefix(vector, "CVSS:3.0/"):
		c, err := cvss30.ParseVector(vector)
		if err != nil {
			return 0, false
		}
		return c.BaseScore(), true
	case strings.HasPrefix(vector, "AV:"):
		c, err := cvss20.ParseVector(vector)
		if err != nil {
			return 0, false
		}
		return c.BaseScore(), true
	}
	return 0, false
}
