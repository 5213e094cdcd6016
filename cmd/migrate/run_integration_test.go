//go:build integration

package main

import (
	"context"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/rollout/rollouttest"
	"github.com/fxplatform/deploy-actions/pkg/sampleapp"
)

func TestMain(m *testing.M) { os.Exit(rollouttest.Main(m)) }

// On the real node: v1 serves from PostgreSQL behind the live Service.
// The migrate action runs v2's expand migration in v1's own pod (its
// DATABASE_URL, its node) with v2's image, before any traffic moves: the
// column is there, checked with pgx; a rerun finds the Job done and runs
// nothing; a migration that fails on the data fails the step with its log,
// leaves the schema as it was, and v1 answers every request throughout.
func TestMigrateOnTheRealNode(t *testing.T) {
	db := rollouttest.NewDatabase(t)
	c := rollouttest.NewCluster(t)
	v1 := rollouttest.Image(t, "v1")
	v2 := rollouttest.Image(t, "v2", "SCHEMA_VERSION=2")
	// The schema v1 reads, as the release before this one left it.
	if err := migrateLocally(db.URL, "goto 1"); err != nil {
		t.Fatal(err)
	}
	app := rollouttest.RealBlueAppIn(t, c, 2, v1, "v1", corev1.EnvVar{Name: "DATABASE_URL", Value: db.PodURL})
	probe := app.Probe(t)
	inputs := func(command string) map[string]string {
		return map[string]string{"image": v2, "command": command, "namespace": c.Namespace, "deployment": rollouttest.Deployment,
			"service": rollouttest.Service, "kubeconfig": c.Kubeconfig, "timeout": "2m"}
	}

	r := actiontest.New(t, inputs("/app/sample-app migrate goto 2"))
	if code := r.Run(context.Background(), spec, run); code != 0 {
		t.Fatalf("migrate goto 2: exit %d: %s", code, r.Log.String())
	}
	out := r.Outputs()
	if out["result"] != "migrated" || !strings.HasPrefix(out["job"], "fx-platform-migrate-") || out["template"] != "live (fx-platform-blue)" {
		t.Errorf("outputs %v", out)
	}
	if cols := rollouttest.StrategyColumns(t, db.URL); cols != "id,name,pair,signal" {
		t.Errorf("columns after the expand: %s, want signal added", cols)
	}
	if sum := r.Summary(); !strings.Contains(sum, "### migrate: migrated") || !strings.Contains(sum, "2/u signal") {
		t.Errorf("summary lacks the result or the migration's log:\n%s", sum)
	}
	job, err := c.Client.BatchV1().Jobs(c.Namespace).Get(context.Background(), out["job"], metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := job.Spec.Template
	if pod.Labels["app"] != "" || pod.Spec.Containers[0].Image != v2 || pod.Spec.Containers[0].ReadinessProbe != nil {
		t.Errorf("the Job's pod: labels %v, image %s, probe %v; want no app labels, v2, no probe", pod.Labels, pod.Spec.Containers[0].Image, pod.Spec.Containers[0].ReadinessProbe)
	}

	r = actiontest.New(t, inputs("/app/sample-app migrate goto 2"))
	if code := r.Run(context.Background(), spec, run); code != 0 || r.Outputs()["result"] != "already-applied" {
		t.Errorf("rerun: exit %d, outputs %v: %s", code, r.Outputs(), r.Log.String())
	}

	r = actiontest.New(t, inputs("/app/sample-app migrate goto 3"))
	if code := r.Run(context.Background(), spec, run); code == 0 {
		t.Fatalf("a failing migration passed: %s", r.Log.String())
	}
	if errs := r.Annotations("error"); len(errs) != 1 || !strings.Contains(errs[0], "migration failed") {
		t.Errorf("errors %q, want one saying the migration failed", errs)
	}
	if sum := r.Summary(); !strings.Contains(sum, "### migrate: failed") || !strings.Contains(sum, "strategies_pair") {
		t.Errorf("the failure's summary lacks the log:\n%s", sum)
	}
	if cols := rollouttest.StrategyColumns(t, db.URL); cols != "id,name,pair,signal" {
		t.Errorf("columns after the failed migration: %s", cols)
	}
	rollouttest.CheckProbe(t, "migrations under a live v1", probe, "v1")
}

// migrateLocally runs the sample app's migrations from this machine.
func migrateLocally(url, command string) error {
	_, _, err := sampleapp.Migrate(url, command, nil)
	return err
}
