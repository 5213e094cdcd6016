// Package kube makes Kubernetes clients from what an action is given: a
// kubeconfig's content or path, $KUBECONFIG, or the pod's service account,
// with a context. Everything is parsed and checked without a network call,
// so a bad kubeconfig is refused before anything in a cluster changes.
package kube

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ErrContextNotFound is returned when the requested context is not in the
// kubeconfig.
var ErrContextNotFound = errors.New("context not found in the kubeconfig")

// Source says where the cluster credentials come from. The first of
// Kubeconfig, EnvKubeconfig and the in-cluster service account that is set
// wins, as kubectl does.
type Source struct {
	// Kubeconfig is a kubeconfig's content (YAML or JSON) or a file path.
	Kubeconfig string
	// EnvKubeconfig is $KUBECONFIG: paths separated by the OS list
	// separator, merged in order.
	EnvKubeconfig string
	// Context is the kubeconfig context; empty means its current-context.
	Context string
	// InCluster returns the pod's service-account configuration; default
	// rest.InClusterConfig. Tests replace it.
	InCluster func() (*rest.Config, error)
}

// Config is a parsed, checked cluster configuration.
type Config struct {
	rest      *rest.Config
	loader    clientcmd.ClientConfig
	namespace string
	secrets   []string
	origin    string

	once   sync.Once
	disc   discovery.CachedDiscoveryInterface
	mapper meta.RESTMapper
	err    error
}

// Load reads and checks the configuration src names. It makes no network
// call.
func Load(src Source) (*Config, error) {
	switch {
	case strings.TrimSpace(src.Kubeconfig) != "":
		raw, origin, err := readKubeconfig(src.Kubeconfig)
		if err != nil {
			return nil, err
		}
		api, err := clientcmd.Load(raw)
		if err != nil {
			return nil, fmt.Errorf("parsing the kubeconfig %s: %w", origin, err)
		}
		return fromAPI(api, src.Context, origin)
	case strings.TrimSpace(src.EnvKubeconfig) != "":
		rules := &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(src.EnvKubeconfig)}
		api, err := rules.Load()
		if err != nil {
			return nil, fmt.Errorf("reading $KUBECONFIG: %w", err)
		}
		return fromAPI(api, src.Context, "from $KUBECONFIG")
	}
	inCluster := src.InCluster
	if inCluster == nil {
		inCluster = rest.InClusterConfig
	}
	cfg, err := inCluster()
	if err != nil {
		return nil, fmt.Errorf("no kubeconfig given, $KUBECONFIG is unset, and not in a cluster: %w", err)
	}
	if src.Context != "" {
		return nil, fmt.Errorf("%w: %q (the in-cluster configuration has no contexts)", ErrContextNotFound, src.Context)
	}
	c := &Config{rest: cfg, namespace: inClusterNamespace(), origin: "in-cluster service account"}
	c.secrets = appendSecret(c.secrets, cfg.BearerToken)
	if cfg.BearerTokenFile != "" {
		if b, err := os.ReadFile(cfg.BearerTokenFile); err == nil {
			c.secrets = appendSecret(c.secrets, strings.TrimSpace(string(b)))
		}
	}
	return c, nil
}

// readKubeconfig tells content from a path: a kubeconfig is YAML or JSON
// with several lines or braces, a path is one line.
func readKubeconfig(s string) ([]byte, string, error) {
	t := strings.TrimSpace(s)
	if strings.ContainsAny(t, "\n{") || strings.HasPrefix(t, "apiVersion:") {
		return []byte(t), "(given inline)", nil
	}
	b, err := os.ReadFile(t)
	if err != nil {
		return nil, "", fmt.Errorf("reading the kubeconfig file: %w", err)
	}
	return b, fmt.Sprintf("%q", t), nil
}

func fromAPI(api *clientcmdapi.Config, context, origin string) (*Config, error) {
	name := context
	if name == "" {
		name = api.CurrentContext
	}
	if name == "" {
		return nil, fmt.Errorf("the kubeconfig %s has no current-context; name one with the context input", origin)
	}
	if _, ok := api.Contexts[name]; !ok {
		return nil, fmt.Errorf("%w: %q (the kubeconfig %s has: %s)", ErrContextNotFound, name, origin, strings.Join(contextNames(api), ", "))
	}
	loader := clientcmd.NewNonInteractiveClientConfig(*api, name, &clientcmd.ConfigOverrides{}, nil)
	restCfg, err := loader.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("the kubeconfig %s, context %q: %w", origin, name, err)
	}
	ns, _, err := loader.Namespace()
	if err != nil {
		return nil, fmt.Errorf("the kubeconfig %s, context %q: %w", origin, name, err)
	}
	return &Config{rest: restCfg, loader: loader, namespace: ns, secrets: secretsOf(api), origin: origin}, nil
}

func contextNames(api *clientcmdapi.Config) []string {
	names := make([]string, 0, len(api.Contexts))
	for n := range api.Contexts {
		names = append(names, fmt.Sprintf("%q", n))
	}
	slices.Sort(names)
	if len(names) == 0 {
		return []string{"no contexts"}
	}
	return names
}

// secretsOf lists every credential in the kubeconfig, in the forms a log
// could show them: tokens, passwords, client keys (PEM and base64) and
// auth-provider tokens and secrets.
func secretsOf(api *clientcmdapi.Config) []string {
	var out []string
	names := make([]string, 0, len(api.AuthInfos))
	for n := range api.AuthInfos {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		ai := api.AuthInfos[n]
		out = appendSecret(out, ai.Token)
		out = appendSecret(out, ai.Password)
		if len(ai.ClientKeyData) > 0 {
			out = appendSecret(out, string(ai.ClientKeyData))
			out = appendSecret(out, base64.StdEncoding.EncodeToString(ai.ClientKeyData))
		}
		if ai.AuthProvider != nil {
			for k, v := range ai.AuthProvider.Config {
				if k := strings.ToLower(k); strings.Contains(k, "token") || strings.Contains(k, "secret") {
					out = appendSecret(out, v)
				}
			}
		}
		if ai.Exec != nil {
			for _, e := range ai.Exec.Env {
				if k := strings.ToUpper(e.Name); strings.Contains(k, "TOKEN") || strings.Contains(k, "SECRET") || strings.Contains(k, "PASSWORD") {
					out = appendSecret(out, e.Value)
				}
			}
		}
	}
	return out
}

func appendSecret(out []string, s string) []string {
	if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
		return append(out, s)
	}
	return out
}

func inClusterNamespace() string {
	b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
	if err != nil {
		return "default"
	}
	return strings.TrimSpace(string(b))
}

// Secrets returns the credentials found in the configuration, for the
// caller to mask before anything is logged.
func (c *Config) Secrets() []string { return slices.Clone(c.secrets) }

// Namespace is the context's namespace ("default" when it names none).
func (c *Config) Namespace() string {
	if c.namespace == "" {
		return "default"
	}
	return c.namespace
}

// Origin says where the configuration came from, for logs: a path,
// "(given inline)", "from $KUBECONFIG" or "in-cluster service account".
func (c *Config) Origin() string { return c.origin }

// Host is the API server's address.
func (c *Config) Host() string { return c.rest.Host }

// REST returns a copy of the client configuration.
func (c *Config) REST() *rest.Config { return rest.CopyConfig(c.rest) }

// Clientset returns a typed client.
func (c *Config) Clientset() (kubernetes.Interface, error) {
	return kubernetes.NewForConfig(c.REST())
}

// RESTClientGetter has the methods of cli-runtime's
// genericclioptions.RESTClientGetter, which Helm and kubectl's libraries
// take. It is declared here so that the actions that do not link Helm
// (verify, promote) do not link cli-runtime and kustomize for one type.
type RESTClientGetter interface {
	ToRESTConfig() (*rest.Config, error)
	ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error)
	ToRESTMapper() (meta.RESTMapper, error)
	ToRawKubeConfigLoader() clientcmd.ClientConfig
}

// Getter returns the configuration as a RESTClientGetter. Discovery is
// cached in memory for the life of the Config.
func (c *Config) Getter() RESTClientGetter { return getter{c} }

type getter struct{ c *Config }

// ToRESTConfig raises client-go's default rate limits (5 requests per
// second, bursts of 10), which throttle an upgrade's apply, discovery and
// status reads into seconds of idle waiting; the helm CLI raises the burst
// to 100 for the same reason.
func (g getter) ToRESTConfig() (*rest.Config, error) {
	cfg := g.c.REST()
	if cfg.QPS == 0 && cfg.Burst == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	return cfg, nil
}

func (g getter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	g.c.initDiscovery()
	return g.c.disc, g.c.err
}

func (g getter) ToRESTMapper() (meta.RESTMapper, error) {
	g.c.initDiscovery()
	return g.c.mapper, g.c.err
}

func (g getter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	if g.c.loader != nil {
		return g.c.loader
	}
	return inClusterLoader{g.c}
}

func (c *Config) initDiscovery() {
	c.once.Do(func() {
		cfg := c.REST()
		// Discovery of many API groups is bursty; kubectl raises the same
		// limits for its discovery client.
		cfg.QPS, cfg.Burst = 50, 300
		dc, err := discovery.NewDiscoveryClientForConfig(cfg)
		if err != nil {
			c.err = fmt.Errorf("making a discovery client: %w", err)
			return
		}
		c.disc = memory.NewMemCacheClient(dc)
		c.mapper = restmapper.NewShortcutExpander(restmapper.NewDeferredDiscoveryRESTMapper(c.disc), c.disc, nil)
	})
}

// inClusterLoader is the clientcmd.ClientConfig of an in-cluster Config.
type inClusterLoader struct{ c *Config }

func (l inClusterLoader) RawConfig() (clientcmdapi.Config, error) { return clientcmdapi.Config{}, nil }
func (l inClusterLoader) ClientConfig() (*rest.Config, error)     { return l.c.REST(), nil }
func (l inClusterLoader) Namespace() (string, bool, error)        { return l.c.Namespace(), false, nil }
func (l inClusterLoader) ConfigAccess() clientcmd.ConfigAccess    { return nil }
