package analysis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"text/template"
	"time"
)

// Vars are the values a query template may use: {{.Namespace}},
// {{.Deployment}}, {{.Color}}, {{.Service}}, {{.Pods}}. promote fills Color
// with the colour being measured and Deployment with its Deployment;
// verify leaves Color empty.
type Vars struct {
	Namespace  string
	Deployment string
	Color      string
	Service    string
	// Pods is a regular expression of the names of the pods the
	// Deployment's current template runs (kube.PodNamePattern), so that a
	// query leaves out an earlier release of the same colour.
	Pods string
	// Baseline is the stable colour while it still serves beside the
	// candidate (before and during the steps), for a comparison of the
	// two; "" when there is none to compare with. BaselineDeployment and
	// BaselinePods are its Deployment and Pods.
	Baseline, BaselineDeployment, BaselinePods string
}

// Check is one measurement: a query that yields a single value, and the
// bound that value must keep.
type Check struct {
	Name      string
	Query     string // a text/template over Vars
	Threshold Threshold
	// Samples is an optional query (a template too) counting the requests
	// behind the value; below MinSamples the check is inconclusive.
	Samples string
	// MinSamples overrides the analysis-wide minimum when above zero.
	MinSamples float64

	query, samples *template.Template
}

// NewCheck builds a check and parses its templates.
func NewCheck(name, query string, t Threshold, samples string) (Check, error) {
	c := Check{Name: name, Query: query, Threshold: t, Samples: samples}
	return c, c.compile()
}

func (c *Check) compile() error {
	if strings.TrimSpace(c.Name) == "" {
		return errors.New("check has no name")
	}
	if strings.TrimSpace(c.Query) == "" {
		return fmt.Errorf("check %q has no query", c.Name)
	}
	if c.Threshold.Bound != Max && c.Threshold.Bound != Min {
		return fmt.Errorf("check %q has neither max nor min", c.Name)
	}
	var err error
	if c.query, err = parseTemplate(c.Name, c.Query); err != nil {
		return fmt.Errorf("check %q query: %w", c.Name, err)
	}
	if c.Samples != "" {
		if c.samples, err = parseTemplate(c.Name+" samples", c.Samples); err != nil {
			return fmt.Errorf("check %q samples: %w", c.Name, err)
		}
	}
	return nil
}

// parseTemplate parses a query template and runs it once with empty Vars,
// so a misspelt field ({{.Colour}}) is found when the check is read, not
// at the first traffic step.
func parseTemplate(name, text string) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	if err := t.Execute(&strings.Builder{}, Vars{}); err != nil {
		return nil, err
	}
	return t, nil
}

// Render fills the check's query and samples templates.
func (c *Check) Render(v Vars) (query, samples string, err error) {
	if c.query == nil {
		if err := c.compile(); err != nil {
			return "", "", err
		}
	}
	var b strings.Builder
	if err := c.query.Execute(&b, v); err != nil {
		return "", "", fmt.Errorf("check %q query: %w", c.Name, err)
	}
	query = b.String()
	if c.samples != nil {
		b.Reset()
		if err := c.samples.Execute(&b, v); err != nil {
			return "", "", fmt.Errorf("check %q samples: %w", c.Name, err)
		}
		samples = b.String()
	}
	return query, samples, nil
}

// Provider answers instant queries with one value.
type Provider interface {
	// Query returns the value of query now. An empty result is ErrNoData,
	// NaN is ErrNaN, more than one series is ErrNotScalar, a provider that
	// cannot answer is ErrUnavailable.
	Query(ctx context.Context, query string) (float64, error)
}

// Analysis is a set of checks run against one provider. Build it once and
// Run it as often as needed (promote runs it at every traffic step).
type Analysis struct {
	Provider Provider
	Checks   []Check
	// MinSamples applies to checks with a Samples query and no MinSamples
	// of their own.
	MinSamples float64
	// Alerts, when set, is evaluated after the checks at every Run: a
	// critical alert firing fails the measurement as a check's value out
	// of bounds does.
	Alerts *AlertCheck
}

// Run evaluates every check with the given template values, in order, and
// then the alert check.
func (a *Analysis) Run(ctx context.Context, v Vars) []Result {
	out := make([]Result, 0, len(a.Checks)+1)
	for i := range a.Checks {
		out = append(out, a.evaluate(ctx, &a.Checks[i], v))
	}
	if a.Alerts != nil {
		out = append(out, a.Alerts.Evaluate(ctx, v))
	}
	return out
}

func (a *Analysis) evaluate(ctx context.Context, c *Check, v Vars) Result {
	r := Result{Name: c.Name, Threshold: c.Threshold, Value: math.NaN(), SampleCount: math.NaN(), At: time.Now()}
	query, samples, err := c.Render(v)
	if err != nil {
		return r.inconclusive(fmt.Errorf("%w: %w", ErrBadQuery, err))
	}
	r.Query = query
	if samples != "" {
		minimum := a.MinSamples
		if c.MinSamples > 0 {
			minimum = c.MinSamples
		}
		n, err := a.Provider.Query(ctx, samples)
		switch {
		case errors.Is(err, ErrNoData) || errors.Is(err, ErrNaN):
			n = 0
		case err != nil:
			return r.inconclusive(fmt.Errorf("counting samples: %w", err))
		}
		r.SampleCount = n
		if n < minimum {
			return r.inconclusive(fmt.Errorf("%w: %s requests, need %s", ErrTooFewSamples, trim(n), trim(minimum)))
		}
	}
	value, err := a.Provider.Query(ctx, query)
	if err != nil {
		return r.inconclusive(err)
	}
	if math.IsNaN(value) {
		return r.inconclusive(ErrNaN)
	}
	r.Value = c.Threshold.Unit.Base(value)
	if c.Threshold.Allows(r.Value) {
		r.Status = Pass
	} else {
		r.Status = Fail
	}
	return r
}
