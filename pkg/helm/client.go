package helm

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"helm.sh/helm/v4/pkg/action"
	hkube "helm.sh/helm/v4/pkg/kube"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage/driver"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// Client deploys releases of one namespace. Release records live in
// Secrets of that namespace, where the helm CLI keeps them, so `helm
// history` shows what deploy did.
type Client struct {
	cfg       *action.Configuration
	namespace string
	rec       *recorder
	now       func() time.Time
}

// Option configures New and NewWithConfiguration.
type Option func(*options) error

type options struct {
	logger slog.Handler
	now    func() time.Time
	mapper func() (meta.RESTMapper, error)
}

// WithLogger receives Helm's own log records (default: dropped).
func WithLogger(h slog.Handler) Option {
	return func(o *options) error {
		if h == nil {
			return errors.New("nil log handler")
		}
		o.logger = h
		return nil
	}
}

// WithClock sets the clock used to time waits (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("nil clock")
		}
		o.now = now
		return nil
	}
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{logger: slog.DiscardHandler, now: time.Now}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// New makes a Client for namespace over a cluster connection. It makes no
// network call.
func New(getter genericclioptions.RESTClientGetter, namespace string, opts ...Option) (*Client, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(o.logger))
	if err := cfg.Init(getter, namespace, "secret"); err != nil {
		return nil, fmt.Errorf("setting up Helm: %w", err)
	}
	if kc, ok := cfg.KubeClient.(*hkube.Client); ok {
		// Resources go to the release's namespace, not the kubeconfig's.
		kc.Namespace = namespace
	}
	o.mapper = getter.ToRESTMapper
	return newClient(cfg, namespace, o), nil
}

// NewWithConfiguration wraps a Helm configuration made elsewhere: unit
// tests use Helm's in-memory storage driver and fake kube client.
func NewWithConfiguration(cfg *action.Configuration, namespace string, opts ...Option) (*Client, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	cfg.SetLogger(o.logger)
	o.mapper = func() (meta.RESTMapper, error) {
		if cfg.RESTClientGetter == nil {
			return nil, errors.New("no cluster connection")
		}
		return cfg.RESTClientGetter.ToRESTMapper()
	}
	return newClient(cfg, namespace, o), nil
}

// FieldManager is the server-side apply field manager of every change a
// Client makes. Helm names it after the running binary, so deploy and
// rollback would own the same fields under two names and a rollback of a
// deployed release would fail with a conflict; "helm" is also the helm
// CLI's name, so `helm rollback` works on what deploy applied.
const FieldManager = "helm"

var fieldManagerOnce sync.Once

func newClient(cfg *action.Configuration, namespace string, o *options) *Client {
	// Helm reads its field manager from a package variable only.
	fieldManagerOnce.Do(func() { hkube.ManagedFieldsManager = FieldManager })
	rec := newRecorder(o.now, o.mapper)
	cfg.KubeClient = &timedKube{Interface: cfg.KubeClient, rec: rec}
	return &Client{cfg: cfg, namespace: namespace, rec: rec, now: o.now}
}

// History returns every stored revision of a release, oldest first.
func (c *Client) History(name string) ([]*release.Release, error) {
	hs, err := c.cfg.Releases.History(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the history of %q: %w", name, err)
	}
	out := make([]*release.Release, 0, len(hs))
	for _, h := range hs {
		r, err := v1(h)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sortByRevision(out)
	return out, nil
}
