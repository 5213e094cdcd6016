//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/image"
	"github.com/fxplatform/deploy-actions/pkg/notify"
	"github.com/fxplatform/deploy-actions/pkg/rollout/rollouttest"
)

// withRevision pushes ref again with the OCI revision and source labels
// build-push writes, and returns it by digest.
func withRevision(t *testing.T, ref, revision string) string {
	t.Helper()
	d, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(d)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	if cf.Config.Labels == nil {
		cf.Config.Labels = map[string]string{}
	}
	cf.Config.Labels[image.LabelRevision] = revision
	cf.Config.Labels["org.opencontainers.image.source"] = "https://github.com/acme/fx"
	labelled, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	tag := d.Context().Tag("rev-" + revision[:8])
	if err := remote.Write(tag, labelled); err != nil {
		t.Fatal(err)
	}
	dig, err := labelled.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.Context().Digest(dig.String()).String()
}

// TestAbortReportsTheChanges, on the real node: a canary that answers 5 %
// of its requests with 500 is aborted by promote's availability probe, and
// the step summary and the abort's notification list the commits between
// the stable and the candidate images' revisions, from the compare API.
func TestAbortReportsTheChanges(t *testing.T) {
	stableRev, candRev := strings.Repeat("1", 40), strings.Repeat("4", 40)
	v1 := withRevision(t, rollouttest.Image(t, "v1"), stableRev)
	bad := withRevision(t, rollouttest.Image(t, "v2", "ERROR_RATE=0.05"), candRev)
	app := rollouttest.RealBlueApp(t, 3, v1, "v1")
	compare, err := os.ReadFile("../../pkg/github/testdata/compare-ahead.json")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var compared []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/repos/acme/fx/compare/"):
			mu.Lock()
			compared = append(compared, strings.TrimPrefix(r.URL.Path, "/repos/acme/fx/compare/"))
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(compare)
		case r.Method == "POST" && r.URL.Path == "/repos/acme/fx/deployments":
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"id": 100}`)
		case r.Method == "GET":
			fmt.Fprint(w, `[]`)
		default:
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"id": 1}`)
		}
	}))
	defer api.Close()
	var events []notify.Event
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var e notify.Event
		if json.Unmarshal(body, &e) == nil {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		}
	}))
	defer hook.Close()

	probe := app.Probe(t)
	r := actiontest.New(t, map[string]string{"namespace": app.Namespace, "service": rollouttest.Service, "deployment": rollouttest.Deployment, "candidate-from": "live",
		"image": bad, "strategy": "canary", "steps": "34,67,100", "step-pause": "30s", "traffic-router": "replicas",
		"scale-down-delay": "1s", "timeout": "5m", "kubeconfig": app.Kubeconfig,
		"availability-url": app.URL, "availability-rate": "200", "min-availability": "99.9%",
		"github-token": "ghs_test", "webhook-url": hook.URL, "webhook-secret": "k"})
	r.Env["GITHUB_REPOSITORY"], r.Env["GITHUB_SHA"], r.Env["GITHUB_API_URL"] = "acme/fx", candRev, api.URL
	if code := r.Run(context.Background(), spec, run); code != 1 {
		t.Fatalf("exit %d, want 1 (aborted): %s", code, r.Log.String())
	}
	rollouttest.Settle(t, probe, "v1")
	t.Logf("the test's probe: %s", probe.Stop())
	if out := r.Outputs(); out["result"] != "aborted" {
		t.Fatalf("outputs %v, want aborted", out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(compared) != 1 || compared[0] != stableRev+"..."+candRev {
		t.Errorf("compared %q, want the stable revision against the candidate's", compared)
	}
	sum := r.Summary()
	for _, want := range []string{"Changes between stable and candidate", "Round quotes to the instrument's pip size", "#43", "Cache the rate table"} {
		if !strings.Contains(sum, want) {
			t.Errorf("the summary lacks %q:\n%s", want, sum)
		}
	}
	var abort *notify.Event
	for i := range events {
		if events[i].Kind == notify.Abort {
			abort = &events[i]
		}
	}
	if abort == nil || len(abort.Changes) != 5 || abort.StableImage != v1 || !strings.Contains(abort.Reason, "availability") {
		t.Errorf("abort notification %+v; want the 5 commits, the stable image and the reason", abort)
	}
}
