package rollout

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/storage/driver"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/fxplatform/deploy-actions/pkg/helm"
)

// secretHelm stores releases as a cluster does, in Secrets: the release
// goes through JSON, so the stored Config's numbers come back float64.
func secretHelm(t *testing.T) *helm.Client {
	t.Helper()
	return testHelm(t, driver.NewSecrets(fake.NewClientset().CoreV1().Secrets("production")))
}

// rendersAs against a release stored as on a cluster
// (Secrets driver), after an install and an upgrade at other replicas.
func TestRendersAsFromSecretsStorage(t *testing.T) {
	h := secretHelm(t)
	ch := referenceChart(t, "service.name=fx-platform-service", "env.GREETING=hello")
	ch.Helm = h
	ctx := context.Background()
	for _, n := range []int32{7, 3, 0} {
		if err := ch.applyColour(ctx, chartApp, "blue", n, time.Minute); err != nil {
			t.Fatal(err)
		}
		hist, _ := h.History("fx-platform-blue")
		last := hist[len(hist)-1]
		r, _ := last.Config["rollout"].(map[string]any)
		if same, err := ch.rendersAs(chartApp, "blue"); err != nil || !same {
			t.Errorf("replicas %d (stored as %T): same %v, %v; want the same render", n, r[ValueReplicas], same, err)
		}
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// hooks are left out of the client render, so the
// contract never sees them: both colours' releases render the same hook
// object (a generated Secret, as charts do with a pre-install hook), the
// candidate's upgrade deletes and recreates the one the live colour
// reads, and check passes.
func TestChartContractSeesHooks(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "../../testdata/charts/fx-platform", dir)
	tpl := `{{- if include "fx-platform.workload" . }}
apiVersion: v1
kind: Secret
metadata:
  name: fx-platform-generated
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-delete-policy: before-hook-creation
stringData:
  token: {{ .Values.config.apiKey | quote }}
{{- end }}
`
	if err := os.WriteFile(filepath.Join(dir, "templates", "hook.yaml"), []byte(tpl), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := loader.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ch := referenceChart(t, "service.name=fx-platform-service")
	ch.Chart = c
	if err := ch.check(chartApp, "", chartImage); err == nil {
		t.Error("check passed a chart whose colour releases both render the hook Secret fx-platform-generated")
	}
}

// rendersAs compares the manifests, which leave hooks
// out: a change only to a colour's hook (a migration Job's arguments) is
// "unchanged", and promote never runs it.
func TestRendersAsSeesHooks(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "../../testdata/charts/fx-platform", dir)
	tpl := `{{- if include "fx-platform.workload" . }}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "fx-platform.fullname" . }}-migrate
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: {{ include "fx-platform.image" . | quote }}
          args: [--to, {{ .Values.migrateTo | default "1" | quote }}]
{{- end }}
`
	if err := os.WriteFile(filepath.Join(dir, "templates", "migrate.yaml"), []byte(tpl), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := loader.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := secretHelm(t)
	with := func(set ...string) *Chart {
		ch := referenceChart(t, append([]string{"service.name=fx-platform-service"}, set...)...)
		ch.Chart, ch.Helm = c, h
		return ch
	}
	if err := with("migrateTo=41").applyColour(context.Background(), chartApp, "blue", 3, time.Minute); err != nil {
		t.Fatal(err)
	}
	if same, err := with("migrateTo=41").rendersAs(chartApp, "blue"); err != nil || !same {
		t.Errorf("the same hook: same %v, %v; want the same", same, err)
	}
	if same, err := with("migrateTo=42").rendersAs(chartApp, "blue"); err != nil || same {
		t.Errorf("the migration hook changed (41 to 42): same %v, %v; want changed", same, err)
	}
}
