package migration

import (
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	for in, want := range map[string]string{
		"/app/sample-app migrate up":             "/app/sample-app|migrate|up",
		"  /app/sample-app   migrate\tup \n":     "/app/sample-app|migrate|up",
		`["psql", "-c", "SELECT 1"]`:             "psql|-c|SELECT 1",
		`["/app/sample-app","migrate","goto 2"]`: "/app/sample-app|migrate|goto 2",
	} {
		got, err := ParseCommand(in)
		if err != nil || strings.Join(got, "|") != want {
			t.Errorf("ParseCommand(%q) = %q, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "   ", `psql -c "SELECT 1"`, `["psql", 1]`, `[]`, `[""]`, `["psql"`} {
		if got, err := ParseCommand(bad); err == nil {
			t.Errorf("ParseCommand(%q) = %q, want an error", bad, got)
		}
	}
}
