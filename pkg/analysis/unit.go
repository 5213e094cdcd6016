package analysis

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Unit says what a query's value is measured in. Values are compared in a
// base unit per family (seconds, fractions, events per second), so a check
// may say "unit: ms" and "max: 0.5s" and mean the same bound as 500.
type Unit string

// The units a check may declare.
const (
	Number    Unit = ""        // a plain number (a count, a ratio nobody scales)
	Seconds   Unit = "seconds" // latency in seconds, as Prometheus histograms give it
	Millis    Unit = "ms"
	Ratio     Unit = "ratio"   // a fraction: 0.01 is 1 %
	Percent   Unit = "percent" // 1 is 1 %
	PerSecond Unit = "req/s"
	PerMinute Unit = "req/min"
	// CriticalAlerts counts the critical alerts an AlertCheck found
	// firing; a check read from YAML cannot have it.
	CriticalAlerts Unit = "critical alerts"
	// CanaryScore is a canary-against-baseline comparison's score, 0 to
	// 100; a check read from YAML cannot have it either.
	CanaryScore Unit = "canary score"
)

const unitsUsage = "seconds, ms, ratio, percent, req/s, req/min or none"

var unitAliases = map[string]Unit{
	"": Number, "none": Number, "number": Number, "count": Number,
	"s": Seconds, "sec": Seconds, "second": Seconds, "seconds": Seconds,
	"ms": Millis, "millisecond": Millis, "milliseconds": Millis,
	"ratio": Ratio, "fraction": Ratio,
	"%": Percent, "percent": Percent,
	"req/s": PerSecond, "rps": PerSecond, "/s": PerSecond,
	"req/min": PerMinute, "rpm": PerMinute, "/min": PerMinute,
}

// ParseUnit reads a unit name or one of its aliases (s, %, rps, rpm).
func ParseUnit(s string) (Unit, error) {
	u, ok := unitAliases[strings.ToLower(strings.TrimSpace(s))]
	if !ok {
		return "", fmt.Errorf("unknown unit %q (use %s)", s, unitsUsage)
	}
	return u, nil
}

type family int

const (
	plain family = iota
	duration
	fraction
	rate
)

func (u Unit) family() family {
	switch u {
	case Seconds, Millis:
		return duration
	case Ratio, Percent:
		return fraction
	case PerSecond, PerMinute:
		return rate
	}
	return plain
}

// scale is how many base units one unit is.
func (u Unit) scale() float64 {
	switch u {
	case Millis:
		return 1e-3
	case Percent:
		return 1e-2
	case PerMinute:
		return 1.0 / 60
	}
	return 1
}

// Base converts a value in u to its family's base unit.
func (u Unit) Base(v float64) float64 { return v * u.scale() }

// Format writes a value given in base units for a person: "412 ms",
// "1.2 s", "0.05%", "1500 req/min".
func (u Unit) Format(base float64) string {
	if math.IsNaN(base) {
		return "NaN"
	}
	switch u.family() {
	case duration:
		return FormatSeconds(base)
	case fraction:
		return FormatPercent(base)
	case rate:
		if u == PerMinute {
			return trim(base*60) + " req/min"
		}
		return trim(base) + " req/s"
	}
	if u == CriticalAlerts {
		return trim(base) + " critical alerts"
	}
	return trim(base)
}

// FormatSeconds writes a latency: milliseconds below a second, seconds above.
func FormatSeconds(s float64) string {
	if math.IsInf(s, 0) {
		return trim(s) + " s"
	}
	if math.Abs(s) < 1 {
		return trim(s*1000) + " ms"
	}
	return trim(s) + " s"
}

// FormatPercent writes a fraction as a percentage: 0.0005 is "0.05%".
func FormatPercent(f float64) string { return trim(f*100) + "%" }

// trim prints up to three significant digits after the point, no trailing
// zeros: 412, 1.25, 0.05.
func trim(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// Bound is the direction of a threshold.
type Bound int

// The bounds a check may have.
const (
	Max Bound = iota + 1 // the value must not be above the threshold
	Min                  // the value must not be below the threshold
)

// Threshold is a bound on a value, in base units.
type Threshold struct {
	Bound Bound
	Value float64 // base units: seconds, fraction, per second
	Unit  Unit    // how to show values
}

// Allows reports whether a measured value (base units) is within bounds.
// NaN is never allowed.
func (t Threshold) Allows(v float64) bool {
	switch t.Bound {
	case Max:
		return v <= t.Value
	case Min:
		return v >= t.Value
	}
	return false
}

// String writes the target as the strategy's KPI table does: "≤ 500 ms".
func (t Threshold) String() string {
	op := "≤ "
	if t.Bound == Min {
		op = "≥ "
	}
	return op + t.Unit.Format(t.Value)
}

// ParseThreshold reads a bound for a value in unit u. A plain number is in
// u itself; text with its own unit must belong to u's family: a duration
// ("500ms") for seconds or ms, a percentage ("1%") for ratio or percent, a
// rate ("1000/min", "20/s") for req/s or req/min.
func ParseThreshold(b Bound, text string, u Unit) (Threshold, error) {
	text = strings.TrimSpace(text)
	t := Threshold{Bound: b, Unit: u}
	if f, err := strconv.ParseFloat(text, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return Threshold{}, fmt.Errorf("%q is not a finite number", text)
		}
		t.Value = u.Base(f)
		return t, nil
	}
	var err error
	switch u.family() {
	case duration:
		var d time.Duration
		if d, err = time.ParseDuration(text); err == nil {
			t.Value = d.Seconds()
		}
	case fraction:
		if !strings.HasSuffix(text, "%") {
			err = fmt.Errorf("want a percentage such as 1%%")
			break
		}
		var f float64
		if f, err = strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(text, "%")), 64); err == nil {
			t.Value = f / 100
		}
	case rate:
		t.Value, err = ParseRate(text)
	default:
		err = fmt.Errorf("a value with a unit needs the check's unit (%s)", unitsUsage)
	}
	if err != nil {
		return Threshold{}, fmt.Errorf("%q does not fit unit %q: %v", text, unitName(u), err)
	}
	return t, nil
}

func unitName(u Unit) string {
	if u == Number {
		return "none"
	}
	return string(u)
}

// ParseRate reads a rate such as "1000/min", "20/s", "1000 req/min" or
// "5/h" and returns it per second.
func ParseRate(text string) (float64, error) {
	num, per, ok := strings.Cut(text, "/")
	if !ok {
		return 0, fmt.Errorf("%q is not a rate (examples: 1000/min, 20/s)", text)
	}
	num = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(num), "req"))
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a rate (examples: 1000/min, 20/s)", text)
	}
	switch strings.ToLower(strings.TrimSpace(per)) {
	case "s", "sec", "second":
		return f, nil
	case "m", "min", "minute":
		return f / 60, nil
	case "h", "hour":
		return f / 3600, nil
	}
	return 0, fmt.Errorf("%q has an unknown period (use /s, /min or /h)", text)
}
