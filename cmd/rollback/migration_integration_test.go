//go:build integration

package main

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/migrate"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/rollout/rollouttest"
	"github.com/fxplatform/deploy-actions/pkg/sampleapp"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// A release with its migration, and its rollback, on the real node, under
// the continuous probe. v1 (schema 1) serves from PostgreSQL; v2's expand
// migration runs as a Job before any traffic moves; v2, which reads the new
// column, is promoted blue-green. The rollback button then switches the
// traffic back to v1 and, after the switch, runs v2's down migration in
// v2's pod: the column is gone, and v1, which never read it, answered
// every request throughout.
func TestRollbackWithDownMigration(t *testing.T) {
	ctx := context.Background()
	db := rollouttest.NewDatabase(t)
	c := rollouttest.NewCluster(t)
	v1 := rollouttest.Image(t, "v1")
	v2 := rollouttest.Image(t, "v2", "SCHEMA_VERSION=2")
	if _, _, err := sampleapp.Migrate(db.URL, "goto 1", nil); err != nil {
		t.Fatal(err)
	}
	app := rollouttest.RealBlueAppIn(t, c, 2, v1, "v1", corev1.EnvVar{Name: "DATABASE_URL", Value: db.PodURL})
	probe := app.Probe(t)

	// The expand, before the switch, in v1's pod with v2's image.
	expand := []string{"/app/sample-app", "migrate", "goto", "2"}
	tmpl, _, err := migrate.FindTemplate(ctx, c.Client, c.Namespace, rollouttest.Deployment, "")
	if err != nil || tmpl == nil {
		t.Fatalf("v1's pod: %v, %v", tmpl, err)
	}
	if _, err := migrate.Run(ctx, c.Client, migrate.Spec{Namespace: c.Namespace, Name: migrate.JobName(rollouttest.Deployment, v2, expand),
		Image: v2, Command: expand, Template: tmpl, Timeout: 2 * time.Minute}, nil); err != nil {
		t.Fatalf("the expand migration: %v", err)
	}
	if cols := rollouttest.StrategyColumns(t, db.URL); cols != "id,name,pair,signal" {
		t.Fatalf("columns after the expand: %s", cols)
	}
	target := rollout.Target{App: traffic.App{Namespace: c.Namespace, Service: rollouttest.Service, Deployment: rollouttest.Deployment},
		Client: c.Client, Owner: "test/promote", Timeout: 3 * time.Minute}
	if res, err := rollout.Promote(ctx, rollout.Config{Target: target, Image: v2, ScaleDownDelay: time.Second}); err != nil || res.Outcome != rollout.Promoted {
		t.Fatalf("promote v2: %+v, %v", res, err)
	}
	rollouttest.Settle(t, probe, "v2")

	r := actiontest.New(t, map[string]string{"namespace": c.Namespace, "service": rollouttest.Service, "deployment": rollouttest.Deployment,
		"reason": "v2 misprices", "kubeconfig": c.Kubeconfig, "migration-command": "/app/sample-app migrate goto 1"})
	if code := r.Run(ctx, spec, run); code != 0 {
		t.Fatalf("rollback: exit %d: %s", code, r.Log.String())
	}
	if out := r.Outputs(); out["active-color"] != "blue" || out["image"] != v1 {
		t.Errorf("outputs %v, want blue with v1", out)
	}
	if cols := rollouttest.StrategyColumns(t, db.URL); cols != "id,name,pair" {
		t.Errorf("columns after the down migration: %s, want signal dropped", cols)
	}
	sum := r.Summary()
	if !strings.Contains(sum, "### rollback down migration (after-switch): migrated") || !strings.Contains(sum, "2/d signal") {
		t.Errorf("the summary lacks the down migration or its log:\n%s", sum)
	}
	if i, j := strings.Index(r.Log.String(), "Down migration"), strings.Index(r.Log.String(), " is live on blue"); i < 0 || j < 0 || i < j {
		t.Errorf("the down migration (at %d in the log) did not run after the switch (at %d):\n%s", i, j, r.Log.String())
	}
	// The Job ran v2's image, in v2's pod (green's).
	if !strings.Contains(sum, v2) || !strings.Contains(sum, "live (fx-platform-green)") {
		t.Errorf("the down migration did not run v2 in green's pod:\n%s", sum)
	}
	rollouttest.Settle(t, probe, "v1")
	rollouttest.CheckProbe(t, "a release with its migration, and its rollback with the down migration", probe, "v1", "v2")
}
