//go:build integration

package helm_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
)

// rollback runs the rollback binary on the test namespace's release.
func (c *cluster) rollback(t *testing.T, extra, env map[string]string) (*actiontest.Runner, int) {
	t.Helper()
	in := map[string]string{"release": release, "namespace": c.namespace, "kubeconfig": c.sb.Kubeconfig, "timeout": "2m"}
	for k, v := range extra {
		in[k] = v
	}
	return runAction(t, "rollback", in, env)
}

// TestIntegrationRollbackRelease installs digest A, upgrades to B, then
// rolls the release back with the rollback action, to the previous
// revision and to explicit ones, and checks the history and the image of
// the live Deployment after each.
func TestIntegrationRollbackRelease(t *testing.T) {
	c := newCluster(t)
	for _, d := range []string{digestA, digestB} {
		if _, code := c.deploy(t, d, nil, nil); code != 0 {
			t.Fatalf("deploy of %s exit code = %d", d, code)
		}
	}
	steps := []struct {
		name        string
		revision    string
		wantFrom    int
		wantTo      int
		wantRev     int
		wantDigest  string
		wantHistory string
	}{
		{"previous", "", 2, 1, 3, digestA, "1:superseded 2:superseded 3:deployed"},
		{"revision 2", "2", 3, 2, 4, digestB, "1:superseded 2:superseded 3:superseded 4:deployed"},
		{"revision 1", "1", 4, 1, 5, digestA, "1:superseded 2:superseded 3:superseded 4:superseded 5:deployed"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			gh := newGitHubRecorder(t)
			r, code := c.rollback(t, map[string]string{"revision": st.revision, "reason": "integration test",
				"environment": "staging", "github-token": "ghs_test"}, gh.env())
			if code != 0 {
				t.Fatalf("rollback exit code = %d", code)
			}
			out := r.Outputs()
			if out["revision"] != fmt.Sprint(st.wantRev) || out["image"] != c.image(st.wantDigest) || out["duration"] == "" || out["active-color"] != "" {
				t.Errorf("outputs = %v, want revision %d, image %s", out, st.wantRev, c.image(st.wantDigest))
			}
			sum := r.Summary()
			for _, want := range []string{"| release | `" + c.namespace + "/" + release + "` |", fmt.Sprintf("| from revision | %d |", st.wantFrom),
				fmt.Sprintf("| to revision | %d (restored as revision %d) |", st.wantTo, st.wantRev), "| status | ✅ deployed |", "| duration | "} {
				if !strings.Contains(sum, want) {
					t.Errorf("summary lacks %q:\n%s", want, sum)
				}
			}
			if got := c.history(t); got != st.wantHistory {
				t.Errorf("history = %q, want %q", got, st.wantHistory)
			}
			if got := c.liveImage(t); got != c.image(st.wantDigest) {
				t.Errorf("live image = %q, want %q", got, c.image(st.wantDigest))
			}
			gh.expect(t, []string{
				"POST /repos/acme/fx/deployments environment=staging ref=0123abcd",
				"POST /repos/acme/fx/deployments/42/statuses state=in_progress",
				"POST /repos/acme/fx/deployments/42/statuses state=success",
				"GET /repos/acme/fx/deployments?environment=staging&per_page=100",
			})
		})
	}
}

func TestIntegrationRollbackMissingRelease(t *testing.T) {
	c := newCluster(t)
	r, code := c.rollback(t, map[string]string{"release": "absent"}, nil)
	if code != 1 {
		t.Fatalf("exit code = %d, want 1", code)
	}
	want := fmt.Sprintf(`rolling back release "absent": release not found: "absent" in namespace %q`, c.namespace)
	if errs := r.Annotations("error"); len(errs) != 1 || errs[0] != want {
		t.Errorf("errors = %q, want %q", errs, want)
	}
	if out := r.Outputs(); out["revision"] != "" {
		t.Errorf("outputs = %v, want no revision", out)
	}
	hs, err := c.helm(t).History("absent")
	if err != nil || len(hs) != 0 {
		t.Errorf("history of absent = %d revisions, %v; want none", len(hs), err)
	}
}
