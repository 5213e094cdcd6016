package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// TraefikVersion is the Gateway API data plane the sandbox builds; it must
// match scripts/sandbox-build/traefik/go.mod.
const TraefikVersion = "v3.6.12"

// The sandbox's Gateway: Traefik serves it on the host, and every test's
// HTTPRoute attaches to it (from any namespace) with a hostname of its own.
const (
	GatewayClassName = "traefik"
	GatewayNamespace = "sandbox-gateway"
	GatewayName      = "sandbox"
	gatewayListener  = "web"
	traefikGWClass   = "traefik.io/gateway-controller"
)

// Gateway is where the sandbox's Gateway API data plane listens.
type Gateway struct {
	// Addr is host:port of the Gateway's HTTP listener; requests carry the
	// HTTPRoute's hostname in their Host header.
	Addr      string `json:"addr"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

func traefikBuild(repoRoot string) buildSpec {
	return buildSpec{name: "traefik", version: TraefikVersion, moduleDir: filepath.Join(repoRoot, "scripts/sandbox-build/traefik"),
		packages: []string{"github.com/traefik/traefik/v3/cmd/traefik"}, binaries: []string{"traefik"},
		estimate: "about 5 min on 2 cores"}
}

// gatewayPortNames are the loopback ports Traefik listens on.
var gatewayPortNames = []string{"traefik-web", "traefik-ping"}

// writeTraefikConfig writes Traefik's static configuration: the Gateway's
// listener and a ping endpoint on loopback, the Kubernetes Gateway API
// provider with the sandbox's API server, and nothing that calls out (no
// version check, no usage report).
func writeTraefikConfig(dir string, files *controlPlaneFiles, ports map[string]int) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	cfg := fmt.Sprintf(`global:
  checkNewVersion: false
  sendAnonymousUsage: false
entryPoints:
  %s:
    address: %q
  traefik:
    address: %q
ping:
  entryPoint: traefik
log:
  level: INFO
providers:
  kubernetesGateway:
    endpoint: %q
    token: %q
    certAuthFilePath: %q
    statusAddress:
      ip: 127.0.0.1
`, gatewayListener, hostPort(ports["traefik-web"]), hostPort(ports["traefik-ping"]), files.apiserverAt, files.token, files.caCert)
	path := filepath.Join(dir, "traefik.yml")
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

// startGateway starts Traefik, then makes the GatewayClass and the
// sandbox's Gateway and waits until Traefik has programmed it.
func startGateway(ctx context.Context, s *Sandbox, cfg Config, files *controlPlaneFiles, bin string, ports map[string]int, run func(name, bin string, args []string) (*process, error)) error {
	conf, err := writeTraefikConfig(filepath.Join(cfg.Dir, "traefik"), files, ports)
	if err != nil {
		return err
	}
	traefik, err := run("traefik", bin, []string{"--configfile=" + conf})
	if err != nil {
		return err
	}
	if err := waitReady(ctx, traefik, nodeTimeout, httpCheck("http://"+hostPort(ports["traefik-ping"])+"/ping", nil, false, "")); err != nil {
		return err
	}
	rc, err := s.RESTConfig()
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return err
	}
	if err := createGateway(ctx, client, dyn, ports["traefik-web"]); err != nil {
		return &ComponentError{Component: "traefik", Err: err}
	}
	s.Gateway = &Gateway{Addr: hostPort(ports["traefik-web"]), Namespace: GatewayNamespace, Name: GatewayName}
	return waitReady(ctx, traefik, nodeTimeout, func(ctx context.Context) error {
		gw, err := dyn.Resource(gatewayGVR).Namespace(GatewayNamespace).Get(ctx, GatewayName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !conditionTrue(gw, "Programmed") {
			return fmt.Errorf("gateway %s/%s is not Programmed yet", GatewayNamespace, GatewayName)
		}
		return nil
	})
}

var (
	gatewayGVR      = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}
	gatewayClassGVR = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gatewayclasses"}
)

func createGateway(ctx context.Context, client kubernetes.Interface, dyn dynamic.Interface, port int) error {
	class := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
		"metadata": map[string]any{"name": GatewayClassName},
		"spec":     map[string]any{"controllerName": traefikGWClass},
	}}
	if _, err := dyn.Resource(gatewayClassGVR).Create(ctx, class, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating GatewayClass %q: %w", GatewayClassName, err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: GatewayNamespace}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %q: %w", GatewayNamespace, err)
	}
	gw := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
		"metadata": map[string]any{"name": GatewayName, "namespace": GatewayNamespace},
		"spec": map[string]any{
			"gatewayClassName": GatewayClassName,
			"listeners": []any{map[string]any{
				"name": gatewayListener, "port": int64(port), "protocol": "HTTP",
				"allowedRoutes": map[string]any{"namespaces": map[string]any{"from": "All"}},
			}},
		},
	}}
	if _, err := dyn.Resource(gatewayGVR).Namespace(GatewayNamespace).Create(ctx, gw, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating Gateway %s/%s: %w", GatewayNamespace, GatewayName, err)
	}
	return nil
}

// conditionTrue reports whether obj's status has condition typ True.
func conditionTrue(obj *unstructured.Unstructured, typ string) bool {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ && strings.EqualFold(fmt.Sprint(m["status"]), "True") {
			return true
		}
	}
	return false
}
