package rollout

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	kubefake "helm.sh/helm/v4/pkg/kube/fake"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"

	"helm.sh/helm/v4/pkg/chart/v2/loader"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/fxplatform/deploy-actions/pkg/helm"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

const chartImage = "127.0.0.1:5000/fx-platform@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// referenceChart is the chart users copy, with the image as promote's
// inputs write it.
func referenceChart(t *testing.T, set ...string) *Chart {
	t.Helper()
	ch, err := loader.Load("../../testdata/charts/fx-platform")
	if err != nil {
		t.Fatal(err)
	}
	vals, err := helm.Values{Set: set, Image: &helm.Image{Repository: "127.0.0.1:5000/fx-platform", Digest: chartImage[len("127.0.0.1:5000/fx-platform@"):]}}.Merge()
	if err != nil {
		t.Fatal(err)
	}
	return &Chart{Chart: ch, Values: vals}
}

var chartApp = traffic.App{Namespace: "production", Service: "fx-platform-service", Deployment: "fx-platform", ColorLabel: "version"}

// The reference chart keeps the contract, and what it renders for each
// part is what promote relies on.
func TestReferenceChartKeepsTheContract(t *testing.T) {
	ch := referenceChart(t, "service.name=fx-platform-service", "env.GREETING=hello")
	if err := ch.check(chartApp, "", chartImage); err != nil {
		t.Fatal(err)
	}

	vals, err := ch.values(chartApp, "green", map[string]any{ValueReplicas: int64(7)})
	if err != nil {
		t.Fatal(err)
	}
	green, err := helm.Render(ch.Chart, "fx-platform-green", "production", vals)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range green.Objects {
		kinds = append(kinds, o.GetKind()+"/"+o.GetName())
	}
	want := "Deployment/fx-platform-green HorizontalPodAutoscaler/fx-platform-green PodDisruptionBudget/fx-platform-green Secret/fx-platform-green-config"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("green's release renders %s, want %s", got, want)
	}
	d := green.Find("Deployment", "fx-platform-green")
	if n, _, _ := nestedInt(d.Object, "spec", "replicas"); n != 7 {
		t.Errorf("green starts at %d replicas, want the 7 promote asked for", n)
	}
	hpa := green.Find("HorizontalPodAutoscaler", "fx-platform-green")
	if target, _, _ := nestedString(hpa.Object, "spec", "scaleTargetRef", "name"); target != "fx-platform-green" {
		t.Errorf("green's HPA scales %q, want its own Deployment", target)
	}
	if _, ok := ch.values(chartApp, "blue", nil); ok != nil {
		t.Fatal(ok)
	}
	if n, err := ch.firstReplicas(chartApp, "blue"); err != nil || n != 3 {
		t.Errorf("the first colour starts at %d (%v), want the HPA's minimum, 3", n, err)
	}
	if vals, _ := ch.values(chartApp, "blue", nil); vals["rollout"].(map[string]any)[ValueReplicas] != nil || ch.Values["rollout"] != nil {
		t.Errorf("rendering one part changed the values of another: %v", ch.Values["rollout"])
	}

	sel, err := ch.liveSelector(chartApp, "green")
	if err != nil {
		t.Fatal(err)
	}
	if sel["version"] != "green" || sel["app"] != "fx-platform" {
		t.Errorf("the live Service selects %v with green live", sel)
	}
}

// A chart that breaks the contract is refused before anything changes,
// with the reason.
func TestChartContractRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		set   []string
		app   traffic.App
		image string
		want  string
	}{
		{"no such Deployment", []string{"service.name=fx-platform-service"}, traffic.App{Namespace: "p", Service: "fx-platform-service", Deployment: "trading", ColorLabel: "version"}, chartImage,
			`renders no Deployment "trading-blue"`},
		{"another colour label", []string{"service.name=fx-platform-service", "rollout.colorLabel=track"}, chartApp, chartImage,
			""},
		{"the image not where the keys put it", []string{"service.name=fx-platform-service"}, chartApp, "127.0.0.1:5000/other@sha256:" + strings.Repeat("1", 64),
			"check the image keys"},
		{"no live Service of that name", nil, chartApp, chartImage,
			`renders no Service "fx-platform-service"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := referenceChart(t, tc.set...)
			ch.Release = "fx-platform"
			err := ch.check(tc.app, "", tc.image)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v (promote sets the colour label itself)", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// memoryHelm is a Helm client over an in-memory release store and a kube
// client that applies nothing, as Helm's own tests use.
func memoryHelm(t *testing.T) *helm.Client {
	t.Helper()
	return testHelm(t, driver.NewMemory())
}

// testHelm is a Helm client over the release store d and a kube client
// that applies nothing.
func testHelm(t *testing.T, d driver.Driver) *helm.Client {
	t.Helper()
	cfg := action.NewConfiguration()
	cfg.Releases = storage.Init(d)
	cfg.KubeClient = &kubefake.PrintingKubeClient{Out: io.Discard}
	cfg.Capabilities = common.DefaultCapabilities
	h, err := helm.NewWithConfiguration(cfg, "production")
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// What tells a release from no release: a colour's release is "the same"
// when the chart renders now what Helm recorded for it, whatever replicas
// it was given; any value that renders differently is a release. A change
// to the shared objects alone is applied by applyShared, which adds no
// revision when nothing changed.
func TestRendersAsAndSharedChanges(t *testing.T) {
	h := memoryHelm(t)
	ctx := context.Background()
	with := func(set ...string) *Chart {
		ch := referenceChart(t, append([]string{"service.name=fx-platform-service"}, set...)...)
		ch.Helm = h
		return ch
	}
	ch := with("env.GREETING=hello")
	if same, err := ch.rendersAs(chartApp, "blue"); err != nil || same {
		t.Fatalf("no release yet: same %v, %v", same, err)
	}
	if err := ch.applyColour(ctx, chartApp, "blue", 7, time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		set  []string
		same bool
	}{
		{[]string{"env.GREETING=hello"}, true},
		{[]string{"env.GREETING=bonjour"}, false},
		{[]string{"env.GREETING=hello", "autoscaling.maxReplicas=12"}, false},
		{[]string{"env.GREETING=hello", "config.apiKey=rotated"}, false},
		{[]string{"env.GREETING=hello", "networkPolicy.enabled=false"}, true}, // shared only
	} {
		if same, err := with(tc.set...).rendersAs(chartApp, "blue"); err != nil || same != tc.same {
			t.Errorf("%v: same %v (%v), want %v", tc.set, same, err, tc.same)
		}
	}
	for i, tc := range []struct {
		set     []string
		live    string
		updated bool
	}{
		{nil, "blue", true},
		{nil, "blue", false},
		{[]string{"networkPolicy.enabled=false"}, "blue", true},
		{[]string{"networkPolicy.enabled=false"}, "blue", false},
		{[]string{"networkPolicy.enabled=false"}, "green", true},
	} {
		updated, err := with(tc.set...).applyShared(ctx, chartApp, tc.live, time.Minute)
		if err != nil || updated != tc.updated {
			t.Errorf("applyShared %d %v live %s: updated %v (%v), want %v", i, tc.set, tc.live, updated, err, tc.updated)
		}
	}
	hist, err := h.History("fx-platform")
	if err != nil || len(hist) != 3 {
		t.Errorf("the shared release has %d revisions (%v), want 3: one per change", len(hist), err)
	}
}

func nestedInt(obj map[string]any, path ...string) (int64, bool, error) {
	return unstructured.NestedInt64(obj, path...)
}

func nestedString(obj map[string]any, path ...string) (string, bool, error) {
	return unstructured.NestedString(obj, path...)
}

// A missing live Service is a first release only where nothing of the app
// is: with a colour's Deployment there (a typo in service, a deleted
// Service), promote refuses, names what it found, and installs nothing.
func TestFirstReleaseOnlyIntoAnEmptyPlace(t *testing.T) {
	n := int32(3)
	blue := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "fx-platform-blue", Namespace: "production"}, Spec: appsv1.DeploymentSpec{Replicas: &n}}
	client := fake.NewClientset(blue)
	h := memoryHelm(t)
	ch := referenceChart(t, "service.name=fx-platform-service")
	ch.Helm = h
	_, err := Promote(context.Background(), Config{Target: Target{App: chartApp, Client: client, Owner: "test"}, Image: chartImage, Chart: ch})
	if err == nil || !strings.Contains(err.Error(), `service "fx-platform-service" does not exist, but deployment fx-platform-blue does`) {
		t.Fatalf("got %v, want a refusal naming fx-platform-blue", err)
	}
	for _, rel := range []string{"fx-platform", "fx-platform-blue", "fx-platform-green"} {
		if hist, _ := h.History(rel); len(hist) != 0 {
			t.Errorf("release %s was installed", rel)
		}
	}
}

// The pod a migration runs in is the release's: the chart's Deployment of
// a colour, or of staging's one Deployment, with the image and the values'
// environment.
func TestChartPodTemplate(t *testing.T) {
	ch := referenceChart(t, "service.name=fx-platform-service", "env.DATABASE_URL=postgres://db/fx")
	for _, tc := range []struct{ part, name string }{{"green", "fx-platform-green"}, {PartAll, "fx-platform"}} {
		pod, err := ch.RenderPod(chartApp, tc.part)
		if err != nil {
			t.Fatalf("%s: %v", tc.part, err)
		}
		tmpl, name := pod.Template, pod.Deployment
		if pod.Release != tc.name || len(pod.Config) == 0 || pod.Config[0].GetName() != tc.name+"-config" {
			t.Errorf("%s: release %q, config %d objects; want release %s and its Secret", tc.part, pod.Release, len(pod.Config), tc.name)
		}
		if name != tc.name || len(tmpl.Spec.Containers) == 0 || tmpl.Spec.Containers[0].Image != chartImage {
			t.Fatalf("%s: Deployment %q, containers %+v", tc.part, name, tmpl.Spec.Containers)
		}
		found := false
		for _, e := range tmpl.Spec.Containers[0].Env {
			found = found || e.Name == "DATABASE_URL" && e.Value == "postgres://db/fx"
		}
		if !found {
			t.Errorf("%s: env %v lacks the values' DATABASE_URL", tc.part, tmpl.Spec.Containers[0].Env)
		}
	}
}
