package action

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// ParseBool reads a boolean the way the Actions toolkit's getBooleanInput
// does (YAML 1.2 core schema): true, True, TRUE, false, False, FALSE.
func ParseBool(s string) (bool, error) {
	switch s {
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (allowed: true, false)", s)
}

// ParseList splits a newline- or comma-separated list, trimming blanks and
// dropping empty items.
func ParseList(s string) []string {
	return splitTrim(s, func(r rune) bool { return r == '\n' || r == ',' || r == '\r' })
}

// ParseLines splits a newline-separated list, trimming blanks and dropping
// empty lines. Use it where items may contain commas (paths, commands).
func ParseLines(s string) []string {
	return splitTrim(s, func(r rune) bool { return r == '\n' || r == '\r' })
}

func splitTrim(s string, sep func(rune) bool) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, sep) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// KeyValue is one KEY=VALUE pair, kept in the order given.
type KeyValue struct {
	Key, Value string
}

// ParseKeyValues reads newline-separated KEY=VALUE lines. The key is
// trimmed and must be non-empty without white space or control characters;
// the value is everything after the first '=' (it may contain '='). Blank
// lines and lines starting with '#' are ignored; a repeated key is an error.
func ParseKeyValues(s string) ([]KeyValue, error) {
	var out []KeyValue
	seen := map[string]bool{}
	for i, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		k, v, ok := strings.Cut(trimmed, "=")
		k = strings.TrimSpace(k)
		if !ok {
			return nil, fmt.Errorf("line %d: %q is not KEY=VALUE", i+1, trimmed)
		}
		if k == "" || strings.IndexFunc(k, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			return nil, fmt.Errorf("line %d: key %q is empty or contains white space", i+1, k)
		}
		if seen[k] {
			return nil, fmt.Errorf("line %d: key %q is given twice", i+1, k)
		}
		seen[k] = true
		out = append(out, KeyValue{Key: k, Value: strings.TrimSpace(v)})
	}
	return out, nil
}

// ParseDuration reads a Go duration ("90s", "5m", "1h30m"). A bare "0" is
// zero; negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (examples: 30s, 5m, 1h30m)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// ParsePercent reads a percentage ("0.1%", "25 %", or "25") and returns it
// as a fraction: "0.1%" is 0.001. It must lie within 0 and 100 %.
func ParsePercent(s string) (float64, error) {
	num := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a percentage (examples: 0.1%%, 25%%)", s)
	}
	if f < 0 {
		return 0, fmt.Errorf("%s is below 0%%", num)
	}
	if f > 100 {
		return 0, fmt.Errorf("%s%% is above 100%%", num)
	}
	return f / 100, nil
}

// byteUnits are the suffixes ParseBytes reads, binary and decimal.
var byteUnits = []struct {
	suffix string
	n      int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// ParseBytes reads a size: a whole number of bytes, or one with a unit
// ("512MiB", "2GiB", "1GB"; KiB, MiB, GiB and TiB are powers of 1024).
func ParseBytes(s string) (int64, error) {
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.n
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not a size (examples: 512MiB, 2GiB, 1048576)", s)
	}
	return n * mult, nil
}

// FormatBytes writes n bytes in the largest binary unit that divides it
// ("2GiB"), or as a number of bytes; ParseBytes reads it back.
func FormatBytes(n int64) string {
	for i := 3; i >= 0; i-- {
		if u := byteUnits[i]; n >= u.n && n%u.n == 0 {
			return fmt.Sprintf("%d%s", n/u.n, u.suffix)
		}
	}
	return fmt.Sprintf("%dB", n)
}

// ParseSteps reads a traffic-step list such as "10,25,50,100": whole
// percentages above 0 and at most 100, strictly increasing.
func ParseSteps(s string) ([]int, error) {
	items := ParseList(s)
	if len(items) == 0 {
		return nil, fmt.Errorf("%q has no steps (example: 10,25,50,100)", s)
	}
	out := make([]int, 0, len(items))
	for _, item := range items {
		n, err := strconv.Atoi(strings.TrimSuffix(item, "%"))
		switch {
		case err != nil:
			return nil, fmt.Errorf("%q is not a whole percentage", item)
		case n <= 0:
			return nil, fmt.Errorf("%d is not above 0", n)
		case n > 100:
			return nil, fmt.Errorf("%d is above 100", n)
		case len(out) > 0 && n <= out[len(out)-1]:
			return nil, fmt.Errorf("%d does not increase on %d", n, out[len(out)-1])
		}
		out = append(out, n)
	}
	return out, nil
}
