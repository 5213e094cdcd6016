package main

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/analysis"
	"github.com/fxplatform/deploy-actions/pkg/compare"
	"github.com/fxplatform/deploy-actions/pkg/verify"
)

// comparison is the compare-* input group: which metrics the candidate is
// compared on with the stable colour, and the bounds.
type comparison struct {
	Metrics, Critical []string
	Path              string
	Options           compare.Options
}

// parseComparison reads the compare-* inputs and checks them without a
// network call; preview and prometheus say whether preview-url (which the
// probes go through) and prometheus-url (live traffic's samples) are set,
// selector is metrics-selector (checked as label matchers already).
func parseComparison(in *action.Inputs, preview, prometheus bool, selector string) comparison {
	c := comparison{Metrics: in.List("compare-metrics"), Path: in.String("compare-path"), Options: compare.Defaults}
	if len(c.Metrics) == 0 {
		// The others have defaults; these two do nothing alone.
		for _, input := range []string{"compare-path", "compare-critical"} {
			if in.String(input) != "" {
				in.Fail(input, "applies only with compare-metrics (set it, or drop %s)", input)
			}
		}
		return c
	}
	for _, m := range c.Metrics {
		if !slices.Contains(verify.CompareMetrics, m) {
			in.Fail("compare-metrics", "%q: want %s", m, strings.Join(verify.CompareMetrics, " or "))
		}
	}
	c.Options.Tolerance = in.Percent("compare-tolerance")
	if d := in.Duration("compare-min-shift"); d < 0 || d >= time.Hour {
		in.Fail("compare-min-shift", "%s: want 0s or more, under an hour (such as 1ms)", d)
	} else {
		c.Options.MinShift = d.Seconds()
	}
	if raw := in.String("compare-confidence"); raw != "" {
		f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil || !(f > 0 && f < 1) {
			in.Fail("compare-confidence", "%q: want a level strictly between 0 and 1, such as 0.95 or 0.99", raw)
		}
		c.Options.Confidence = f
	}
	c.Options.MinSamples = in.Int("compare-min-samples", 2, 10000)
	if least := compare.SmallestSample(c.Options.Confidence); c.Options.MinSamples >= 2 && c.Options.MinSamples < least {
		in.Fail("compare-min-samples", "%d: at compare-confidence %g no test on so few samples can find a difference, and every candidate would pass; want at least %d",
			c.Options.MinSamples, c.Options.Confidence, least)
	}
	if c.Path != "" {
		if err := verify.CheckPath(c.Path); err != nil {
			in.Fail("compare-path", "%v", err)
		}
	}
	critical, set := in.List("compare-critical"), in.String("compare-critical") != ""
	if !set && slices.Contains(c.Metrics, verify.CompareErrorRate) {
		critical = []string{verify.CompareErrorRate}
	}
	for _, m := range critical {
		if !slices.Contains(c.Metrics, m) {
			in.Fail("compare-critical", "%q is not one of compare-metrics (%s)", m, strings.Join(c.Metrics, ", "))
		}
	}
	c.Critical = critical
	if !preview && !prometheus {
		in.Fail("compare-metrics", "needs prometheus-url (the colours' live traffic), preview-url (probes of each colour), or both (live traffic, or probes of both colours when it is too thin)")
	}
	if prometheus && analysis.CheckSelector(selector, analysis.SampleVars) == nil {
		if err := verify.CheckCompareSelector(selector); err != nil {
			in.Fail("metrics-selector", "%v: the comparison reads each colour's series through it", err)
		}
	}
	return c
}
