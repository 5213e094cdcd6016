package analysis

import "testing"

// Selectors Prometheus takes. PromQL strings may be
// double-quoted, single-quoted or backquoted (raw); promtool 2.42 takes
// each of these.
func TestCheckSelectorTakesEveryPromQLString(t *testing.T) {
	for _, s := range []string{
		`namespace="{{.Namespace}}",pod=~"{{.Pods}}"`,
		`namespace='{{.Namespace}}',pod=~'{{.Pods}}'`,
		"namespace=`{{.Namespace}}`,pod=~`{{.Pods}}`",
		"path=~`/api/v1\\..*`",
		`job="a\"b"`,
	} {
		if err := CheckSelector(s, SampleVars); err != nil {
			t.Errorf("%s: refused (%v), but PromQL takes it", s, err)
		}
	}
}
