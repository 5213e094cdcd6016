package helm

import (
	"strings"
	"testing"
)

const manifestV1 = `---
# Source: app/templates/cm.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: blue
---
# Source: app/templates/secret.yaml
apiVersion: v1
kind: Secret
metadata:
  name: creds
data:
  password: b2xkLXBhc3N3b3Jk
---
apiVersion: v1
kind: Service
metadata:
  name: web
`

const manifestV2 = `---
# Source: app/templates/cm.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: green
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
data:
  password: bmV3LXBhc3N3b3Jk
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
`

func TestDiffManifests(t *testing.T) {
	tests := []struct {
		name          string
		before, after string
		want          []string
	}{
		{name: "install", before: "", after: manifestV1, want: []string{"added ConfigMap settings", "added Secret creds", "added Service web"}},
		{name: "no change", before: manifestV1, after: manifestV1, want: nil},
		{name: "source comments ignored", before: manifestV1, after: strings.ReplaceAll(manifestV1, "# Source: app/templates/cm.yaml", "# Source: other.yaml"), want: nil},
		{name: "upgrade", before: manifestV1, after: manifestV2, want: []string{"added NetworkPolicy web", "changed ConfigMap settings", "changed Secret creds", "removed Service web"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			changes, err := DiffManifests(tc.before, tc.after)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range changes {
				got = append(got, c.Change+" "+c.Kind+" "+c.Name)
				if c.IsSecret() && c.Diff != "" {
					t.Errorf("Secret %s has a diff: %q", c.Name, c.Diff)
				}
				for _, secret := range []string{"b2xkLXBhc3N3b3Jk", "bmV3LXBhc3N3b3Jk"} {
					if strings.Contains(c.Diff, secret) {
						t.Errorf("diff of %s %s shows Secret data", c.Kind, c.Name)
					}
				}
			}
			if strings.Join(got, "; ") != strings.Join(tc.want, "; ") {
				t.Errorf("DiffManifests() = %q, want %q", got, tc.want)
			}
		})
	}
	changes, _ := DiffManifests(manifestV1, manifestV2)
	for _, c := range changes {
		if c.Kind == "ConfigMap" && !strings.Contains(c.Diff, "-  mode: blue") {
			t.Errorf("ConfigMap diff = %q, want the changed line", c.Diff)
		}
	}
}
