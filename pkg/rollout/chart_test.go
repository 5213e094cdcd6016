package rollout

import (
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

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
	digest, err := ch.check(chartApp, "", chartImage)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("digest %q", digest)
	}
	// The digest follows the values, and not the replicas of a run.
	other := referenceChart(t, "service.name=fx-platform-service", "env.GREETING=bonjour")
	if d, _ := other.check(chartApp, "", chartImage); d == digest {
		t.Errorf("a changed environment variable left the digest %s", d)
	}
	again := referenceChart(t, "service.name=fx-platform-service", "env.GREETING=hello")
	if d, _ := again.check(chartApp, "", chartImage); d != digest {
		t.Errorf("the same values gave digest %s, then %s", digest, d)
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
			_, err := ch.check(tc.app, "", tc.image)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v (promote sets the colour label itself)", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func nestedInt(obj map[string]any, path ...string) (int64, bool, error) {
	return unstructured.NestedInt64(obj, path...)
}

func nestedString(obj map[string]any, path ...string) (string, bool, error) {
	return unstructured.NestedString(obj, path...)
}
