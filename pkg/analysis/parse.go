package analysis

import (
	"encoding/json"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

// checkSpec is one check as written in YAML (verify's prometheus-checks,
// promote's analysis-checks).
type checkSpec struct {
	Name       string          `json:"name"`
	Query      string          `json:"query"`
	Max        json.RawMessage `json:"max,omitempty"`
	Min        json.RawMessage `json:"min,omitempty"`
	Unit       string          `json:"unit,omitempty"`
	Samples    string          `json:"samples,omitempty"`
	MinSamples *float64        `json:"min-samples,omitempty"`
}

// ParseChecks reads a YAML list of checks:
//
//   - name: error-rate
//     query: sum(rate(http_requests_total{code=~"5..",namespace="{{.Namespace}}"}[1m]))
//     / sum(rate(http_requests_total{namespace="{{.Namespace}}"}[1m]))
//     max: 1%
//     unit: ratio
//     samples: sum(increase(http_requests_total{namespace="{{.Namespace}}"}[1m]))
//
// Each check has a name, a query, exactly one of max or min, and a unit
// (default: a plain number); samples and min-samples are optional. Unknown
// fields, repeated names and templates that use unknown fields are errors.
// Empty text is no checks.
func ParseChecks(text string) ([]Check, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var specs []checkSpec
	if err := yaml.UnmarshalStrict([]byte(text), &specs); err != nil {
		return nil, fmt.Errorf("not a YAML list of checks ({name, query, max|min, unit}): %w", err)
	}
	checks := make([]Check, 0, len(specs))
	seen := map[string]bool{}
	for i, s := range specs {
		c, err := s.check()
		if err != nil {
			return nil, fmt.Errorf("check %d: %w", i+1, err)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("check %d: name %q is used twice", i+1, c.Name)
		}
		seen[c.Name] = true
		checks = append(checks, c)
	}
	return checks, nil
}

func (s checkSpec) check() (Check, error) {
	name := strings.TrimSpace(s.Name)
	if name == "" {
		return Check{}, fmt.Errorf("no name")
	}
	unit, err := ParseUnit(s.Unit)
	if err != nil {
		return Check{}, fmt.Errorf("%q: %w", name, err)
	}
	var bound Bound
	var raw json.RawMessage
	switch {
	case len(s.Max) > 0 && len(s.Min) > 0:
		return Check{}, fmt.Errorf("%q: give max or min, not both", name)
	case len(s.Max) > 0:
		bound, raw = Max, s.Max
	case len(s.Min) > 0:
		bound, raw = Min, s.Min
	default:
		return Check{}, fmt.Errorf("%q: give max or min", name)
	}
	text, err := scalarText(raw)
	if err != nil {
		return Check{}, fmt.Errorf("%q: %w", name, err)
	}
	t, err := ParseThreshold(bound, text, unit)
	if err != nil {
		return Check{}, fmt.Errorf("%q: %w", name, err)
	}
	c, err := NewCheck(name, s.Query, t, s.Samples)
	if err != nil {
		return Check{}, err
	}
	if s.MinSamples != nil {
		if *s.MinSamples < 0 {
			return Check{}, fmt.Errorf("%q: min-samples %v is negative", name, *s.MinSamples)
		}
		if s.Samples == "" {
			return Check{}, fmt.Errorf("%q: min-samples needs a samples query", name)
		}
		c.MinSamples = *s.MinSamples
	}
	return c, nil
}

// scalarText accepts a threshold written as a number (0.5) or a string
// ("500ms", "1%").
func scalarText(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf("threshold %s is neither a number nor text", raw)
}
