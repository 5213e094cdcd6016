package sandbox

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// agentArg, as the first argument of a sandbox binary (the sandbox CLI, or
// a test binary through Main), makes it the sandbox's kube-state agent
// instead: the sandbox runs it with the executable that started it.
const agentArg = "deploy-actions-sandbox-kube-state"

// Every binary that links the sandbox can start one, and so must answer as
// the agent: the CLI, and the test binaries of every build (integration,
// lifecycle), whatever their TestMain does.
func init() { RunAgentIfAsked() }

// RunAgentIfAsked runs the kube-state agent and exits when the process was
// started as one; otherwise it returns at once. The sandbox CLI's main and
// Main call it first.
func RunAgentIfAsked() {
	if len(os.Args) < 2 || os.Args[1] != agentArg {
		return
	}
	if err := runKubeState(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "kube-state agent: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// kubeStateArgs start the agent for the sandbox in dir (the directory in
// its command line tells it apart as the sandbox's own process).
func kubeStateArgs(dir, kubeconfig string, port int) []string {
	return []string{agentArg, "--dir=" + dir, "--kubeconfig=" + kubeconfig, "--listen=" + hostPort(port)}
}

// runKubeState serves, for every Deployment, the kube-state-metrics series
// the strategy's DeploymentFailure alert and the dashboard read (the same
// names and labels as kube-state-metrics, which the module proxy does not
// serve): kube_deployment_spec_replicas and
// kube_deployment_status_replicas{,_available,_unavailable,_updated}.
func runKubeState(args []string) error {
	fs := flag.NewFlagSet("kube-state", flag.ContinueOnError)
	_ = fs.String("dir", "", "the sandbox's state directory")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig")
	listen := fs.String("listen", "127.0.0.1:0", "address of /metrics")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rc, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	factory := informers.NewSharedInformerFactory(client, 0)
	lister := factory.Apps().V1().Deployments().Lister()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	reg := prometheus.NewRegistry()
	reg.MustRegister(&deploymentCollector{list: func() ([]*appsv1.Deployment, error) { return lister.List(labels.Everything()) }})
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

var deploymentLabels = []string{"namespace", "deployment"}

var (
	descSpecReplicas = prometheus.NewDesc("kube_deployment_spec_replicas", "Number of desired pods for a deployment.", deploymentLabels, nil)
	descReplicas     = prometheus.NewDesc("kube_deployment_status_replicas", "The number of replicas per deployment.", deploymentLabels, nil)
	descAvailable    = prometheus.NewDesc("kube_deployment_status_replicas_available", "The number of available replicas per deployment.", deploymentLabels, nil)
	descUnavailable  = prometheus.NewDesc("kube_deployment_status_replicas_unavailable", "The number of unavailable replicas per deployment.", deploymentLabels, nil)
	descUpdated      = prometheus.NewDesc("kube_deployment_status_replicas_updated", "The number of updated replicas per deployment.", deploymentLabels, nil)
)

// deploymentCollector reads the Deployments at each scrape.
type deploymentCollector struct {
	list func() ([]*appsv1.Deployment, error)
}

func (c *deploymentCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSpecReplicas, descReplicas, descAvailable, descUnavailable, descUpdated} {
		ch <- d
	}
}

func (c *deploymentCollector) Collect(ch chan<- prometheus.Metric) {
	deps, err := c.list()
	if err != nil {
		return
	}
	for _, d := range deps {
		spec := int32(1)
		if d.Spec.Replicas != nil {
			spec = *d.Spec.Replicas
		}
		gauge := func(desc *prometheus.Desc, v int32) {
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(v), d.Namespace, d.Name)
		}
		gauge(descSpecReplicas, spec)
		gauge(descReplicas, d.Status.Replicas)
		gauge(descAvailable, d.Status.AvailableReplicas)
		gauge(descUnavailable, d.Status.UnavailableReplicas)
		gauge(descUpdated, d.Status.UpdatedReplicas)
	}
}
