package analysis

import (
	"math"
	"testing"
)

func TestParseThreshold(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		unit    Unit
		want    float64 // base units
		wantErr bool
	}{
		{name: "duration for seconds", text: "500ms", unit: Seconds, want: 0.5},
		{name: "plain number in seconds", text: "0.5", unit: Seconds, want: 0.5},
		{name: "plain number in ms", text: "500", unit: Millis, want: 0.5},
		{name: "duration for ms", text: "1s", unit: Millis, want: 1},
		{name: "percentage for ratio", text: "1%", unit: Ratio, want: 0.01},
		{name: "plain number in ratio", text: "0.01", unit: Ratio, want: 0.01},
		{name: "plain number in percent", text: "5", unit: Percent, want: 0.05},
		{name: "rate per minute", text: "1200/min", unit: PerSecond, want: 20},
		{name: "plain number per minute", text: "1200", unit: PerMinute, want: 20},
		{name: "rate with req", text: "20 req/s", unit: PerMinute, want: 20},
		{name: "plain number", text: "3", unit: Number, want: 3},
		{name: "unit text without a unit", text: "500ms", unit: Number, wantErr: true},
		{name: "percentage for seconds", text: "1%", unit: Seconds, wantErr: true},
		{name: "malformed duration", text: "5x", unit: Seconds, wantErr: true},
		{name: "ratio without percent sign", text: "abc", unit: Ratio, wantErr: true},
		{name: "rate with unknown period", text: "5/fortnight", unit: PerSecond, wantErr: true},
		{name: "NaN", text: "NaN", unit: Number, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseThreshold(Max, tc.text, tc.unit)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ParseThreshold(%q, %q) = %v, want an error", tc.text, tc.unit, got.Value)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseThreshold(%q, %q): %v", tc.text, tc.unit, err)
			}
			if math.Abs(got.Value-tc.want) > 1e-12 {
				t.Errorf("ParseThreshold(%q, %q) = %v, want %v", tc.text, tc.unit, got.Value, tc.want)
			}
		})
	}
}

func TestThresholdString(t *testing.T) {
	tests := []struct {
		name string
		t    Threshold
		want string
	}{
		{"latency", Threshold{Max, 0.5, Seconds}, "≤ 500 ms"},
		{"slow latency", Threshold{Max, 2, Millis}, "≤ 2 s"},
		{"error rate", Threshold{Max, 0.001, Ratio}, "≤ 0.1%"},
		{"throughput", Threshold{Min, 1000.0 / 60, PerMinute}, "≥ 1000 req/min"},
		{"count", Threshold{Min, 3, Number}, "≥ 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.t.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestThresholdAllows(t *testing.T) {
	max := Threshold{Bound: Max, Value: 1}
	min := Threshold{Bound: Min, Value: 1}
	tests := []struct {
		name string
		t    Threshold
		v    float64
		want bool
	}{
		{"max below", max, 0.5, true},
		{"max equal", max, 1, true},
		{"max above", max, 1.5, false},
		{"max +Inf", max, math.Inf(1), false},
		{"min below", min, 0.5, false},
		{"min above", min, 2, true},
		{"NaN never", max, math.NaN(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.t.Allows(tc.v); got != tc.want {
				t.Errorf("Allows(%v) = %v, want %v", tc.v, got, tc.want)
			}
		})
	}
}
