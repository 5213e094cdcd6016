//go:build integration

// The helpers that reach the sandbox: see the package comment.

package rollouttest

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"github.com/fxplatform/deploy-actions/pkg/internal/sandbox"
	"github.com/fxplatform/deploy-actions/pkg/monitoring"
	"github.com/fxplatform/deploy-actions/pkg/sampleapp"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// Main runs a test binary against the project's sandbox (started if none
// runs); call it from TestMain. It lets the cmd/ tests, which may not import
// pkg/internal, use the sandbox.
func Main(m *testing.M) int { return sandbox.Main(m) }

// NewCluster returns the sandbox's cluster with a namespace of the test's own.
func NewCluster(t testing.TB) Cluster {
	t.Helper()
	s := sandbox.Get(t)
	client, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	return Cluster{Client: client, Kubeconfig: s.Kubeconfig, Namespace: s.Namespace(t), PrometheusURL: s.PrometheusURL, PushgatewayURL: s.PushgatewayURL, LogDir: filepath.Join(s.Dir, "logs")}
}

// Route puts fx-platform behind the sandbox's Gateway (Traefik): the colour
// Services <Service>-blue and <Service>-green, and an HTTPRoute giving blue
// all the weight for a hostname of the test's own. It waits until the
// Gateway answers from version.
func (r *Real) Route(t testing.TB, version string) {
	t.Helper()
	s := sandbox.Get(t)
	if s.Gateway == nil {
		t.Fatal("the sandbox has no Gateway (it comes with the real node)")
	}
	ctx := context.Background()
	for _, colour := range []string{"blue", "green"} {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: Service + "-" + colour},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app": "fx-platform", "version": colour},
				Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(sandbox.SampleAppPort)}},
			},
		}
		if _, err := r.Client.CoreV1().Services(r.Namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	r.Host = r.Namespace + ".sandbox.test"
	r.GatewayURL = "http://" + s.Gateway.Addr + sampleapp.PathStrategy
	route := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
		"metadata": map[string]any{"name": HTTPRoute},
		"spec": map[string]any{
			"parentRefs": []any{map[string]any{"name": s.Gateway.Name, "namespace": s.Gateway.Namespace}},
			"hostnames":  []any{r.Host},
			"rules": []any{map[string]any{"backendRefs": []any{
				map[string]any{"name": Service + "-blue", "port": int64(80), "weight": int64(100)},
				map[string]any{"name": Service + "-green", "port": int64(80), "weight": int64(0)},
			}}},
		},
	}}
	if _, err := r.Dynamic(t).Resource(traffic.HTTPRoutes).Namespace(r.Namespace).Create(ctx, route, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 2 * time.Second}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.GatewayURL, nil)
		req.Host = r.Host
		resp, err := client.Do(req)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK && resp.Header.Get(sampleapp.HeaderVersion) == version, nil
	})
	if err != nil {
		t.Fatalf("the Gateway never answered for %s from %s", r.Host, version)
	}
}

// Dynamic returns a dynamic client of the sandbox's API server.
func (r *Real) Dynamic(t testing.TB) dynamic.Interface {
	t.Helper()
	rc, err := sandbox.Get(t).RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return dyn
}

// Image returns the sample app's image for version, by digest, with env
// baked in (a fault such as "ERROR_RATE=0.05" makes it a bad release).
func Image(t testing.TB, version string, env ...string) string {
	t.Helper()
	return sandbox.Get(t).SampleAppImage(t, version, env...)
}

// RealBlueApp creates fx-platform-blue (replicas of image) on the real node
// and the live Service, waits until blue is available, and until the
// Service answers from version.
func RealBlueApp(t testing.TB, replicas int32, image, version string) *Real {
	t.Helper()
	return RealBlueAppIn(t, NewCluster(t), replicas, image, version)
}

// ScrapePods has the sandbox's Prometheus scrape the annotated pods of the
// cluster's namespace on the real node (the reference chart annotates
// them), with the namespace and pod labels of Prometheus's pod discovery,
// until t ends.
func (c Cluster) ScrapePods(t testing.TB) {
	t.Helper()
	sandbox.Get(t).ScrapePods(t, c.Namespace)
}

// LoadAlerts loads the strategy's alerts for the app in c's namespace,
// generated by pkg/monitoring from svc (its namespace is set here), into
// the sandbox's Prometheus until the test ends.
func (c Cluster) LoadAlerts(t testing.TB, svc monitoring.Service) {
	t.Helper()
	svc.Namespace = c.Namespace
	rule, err := monitoring.PrometheusRule(svc)
	if err != nil {
		t.Fatal(err)
	}
	data, err := monitoring.RuleFile(rule)
	if err != nil {
		t.Fatal(err)
	}
	s := sandbox.Get(t)
	if err := s.AddRules(c.Namespace, data); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.RemoveRules(c.Namespace) })
}

// AddRules loads a rule file of the test's own into the sandbox's
// Prometheus until the test ends.
func (c Cluster) AddRules(t testing.TB, name string, rules []byte) {
	t.Helper()
	s := sandbox.Get(t)
	if err := s.AddRules(name, rules); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.RemoveRules(name) })
}

// Database is a database and role of the sandbox's PostgreSQL: URL reaches
// it from this machine, PodURL from the real node's pods.
type Database = sandbox.Database

// NewDatabase makes a database for t alone, dropped when t ends.
func NewDatabase(t testing.TB) Database {
	t.Helper()
	return sandbox.TestDatabase(t)
}

// StrategyColumns are the sample app's strategies table's columns in the
// database at url, in order, read with pgx ("" when there is no table).
func StrategyColumns(t testing.TB, url string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var cols string
	if err := conn.QueryRow(ctx, "SELECT coalesce(string_agg(column_name, ',' ORDER BY ordinal_position), '') FROM information_schema.columns WHERE table_name = 'strategies'").Scan(&cols); err != nil {
		t.Fatal(err)
	}
	return cols
}

// Registry is the sandbox's registry: its host, and the credentials it
// asks for (none when it asks for none).
func Registry(t testing.TB) (host, user, password string) {
	t.Helper()
	s := sandbox.Get(t)
	return s.Registry, s.RegistryUser, s.RegistryPassword
}
