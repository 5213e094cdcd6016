package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config says where a sandbox lives and how to start it.
type Config struct {
	// Dir is the state directory: configs, credentials, data and logs of
	// every process. Down removes it.
	Dir string
	// CacheDir holds built control-plane binaries; default DefaultCacheDir().
	CacheDir string
	// RepoRoot is the deploy-actions checkout (for scripts/sandbox-build);
	// default: found from the working directory.
	RepoRoot string
	// Fixed ports (0 picks a free one). A busy fixed port is an error.
	RegistryPort   int
	APIServerPort  int
	PrometheusPort int
	// RegistryUser and RegistryPassword turn on htpasswd auth.
	RegistryUser     string
	RegistryPassword string
	// Nodes is the number of fake kwok nodes; default 3.
	Nodes int
	// NoRealNode leaves out the real node (containerd, kubelet,
	// kube-proxy), which otherwise runs next to the kwok nodes. One real
	// node runs on a machine at a time.
	NoRealNode bool
	// Progress receives one line per step; default io.Discard.
	Progress io.Writer
	// LookPath and Install replace exec.LookPath and AptInstaller (tests).
	LookPath func(string) (string, error)
	Install  Installer
	// Binaries replaces built binaries by name ("kubelet": "/path"), so a
	// test can make one component fail.
	Binaries map[string]string
	// Detach lets the processes outlive the calling process (scripts/sandbox).
	// Otherwise they die with it.
	Detach bool
}

func (c *Config) setDefaults() error {
	if c.Dir == "" {
		return errors.New("sandbox config: Dir is empty")
	}
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return err
	}
	c.Dir = dir
	if c.CacheDir == "" {
		if c.CacheDir, err = DefaultCacheDir(); err != nil {
			return err
		}
	}
	if c.RepoRoot == "" {
		if c.RepoRoot, err = FindRepoRoot(); err != nil {
			return err
		}
	}
	if c.Nodes == 0 {
		c.Nodes = 3
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.Install == nil {
		c.Install = AptInstaller()
	}
	return nil
}

// Component is one process of a running sandbox, as recorded in its state.
type Component struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	Port int    `json:"port"`
	Log  string `json:"log"`
}

// Sandbox is a running sandbox: where to reach each server. It is what
// state.json in the state directory holds.
type Sandbox struct {
	Dir              string `json:"dir"`
	Kubeconfig       string `json:"kubeconfig"`
	Registry         string `json:"registry"` // host:port
	RegistryUser     string `json:"registryUser,omitempty"`
	RegistryPassword string `json:"registryPassword,omitempty"`
	PrometheusURL    string `json:"prometheusURL"`
	// AlertmanagerURL receives Prometheus' alerts (AddAlertReceiver routes
	// a namespace's to a webhook); PushgatewayURL is scraped by Prometheus.
	AlertmanagerURL string      `json:"alertmanagerURL,omitempty"`
	PushgatewayURL  string      `json:"pushgatewayURL,omitempty"`
	Started         time.Time   `json:"started"`
	Components      []Component `json:"components"`
	// Node is the real node, nil without one.
	Node *Node `json:"node,omitempty"`
	// Gateway is the Gateway API data plane (Traefik), nil without the
	// real node.
	Gateway *Gateway `json:"gateway,omitempty"`
	// Postgres is the sandbox's PostgreSQL (CreateDatabase).
	Postgres *Postgres `json:"postgres,omitempty"`
	// Owned is true when this process started the servers without Detach;
	// they die with it.
	Owned bool `json:"-"`
}

const stateFile = "state.json"

// Env returns the sandbox as NAME=value lines for a shell or a child
// process: KUBECONFIG, REGISTRY, PROMETHEUS_URL, ALERTMANAGER_URL,
// PUSHGATEWAY_URL, POSTGRES_URL and SANDBOX_DIR (plus the
// registry credentials when set, and GATEWAY_ADDR, the Gateway's listener,
// with the real node).
func (s *Sandbox) Env() []string {
	env := []string{
		"KUBECONFIG=" + s.Kubeconfig,
		"REGISTRY=" + s.Registry,
		"PROMETHEUS_URL=" + s.PrometheusURL,
		"ALERTMANAGER_URL=" + s.AlertmanagerURL,
		"PUSHGATEWAY_URL=" + s.PushgatewayURL,
		"SANDBOX_DIR=" + s.Dir,
	}
	if s.RegistryUser != "" {
		env = append(env, "REGISTRY_USERNAME="+s.RegistryUser, "REGISTRY_PASSWORD="+s.RegistryPassword)
	}
	if s.Gateway != nil {
		env = append(env, "GATEWAY_ADDR="+s.Gateway.Addr)
	}
	if s.Postgres != nil {
		env = append(env, "POSTGRES_URL="+s.Postgres.URL)
	}
	return env
}

// Load reads the state of the sandbox in dir. It does not check that the
// processes still run; Check does.
func Load(dir string) (*Sandbox, error) {
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, err
	}
	var s Sandbox
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("reading sandbox state %s: %w", filepath.Join(dir, stateFile), err)
	}
	return &s, nil
}

func (s *Sandbox) save() error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.Dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "env"), []byte(strings.Join(s.Env(), "\n")+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(s.Dir, stateFile))
}

// Check returns nil if every recorded process is still running, or an
// error naming the ones that are not.
func (s *Sandbox) Check() error {
	var dead []string
	for _, c := range s.Components {
		if !pidAlive(c.PID, s.Dir) {
			dead = append(dead, c.Name)
		}
	}
	if len(s.Components) == 0 {
		return errors.New("sandbox state lists no processes")
	}
	if len(dead) > 0 {
		return fmt.Errorf("not running: %s", strings.Join(dead, ", "))
	}
	return nil
}

// Up starts a sandbox in cfg.Dir, or returns the one already running
// there. A sandbox whose processes partly died is stopped and started
// again. Every wait has a deadline; a failure stops what was started and
// names the component, with the end of its log.
func Up(ctx context.Context, cfg Config) (*Sandbox, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		// Long enough for a cold build on 2 cores, short of hanging forever.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 45*time.Minute)
		defer cancel()
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating sandbox directory: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(cfg.Dir, ".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if s, err := Load(cfg.Dir); err == nil {
		checkErr := s.Check()
		if checkErr == nil {
			return s, nil
		}
		fmt.Fprintf(cfg.Progress, "sandbox: the sandbox in %s is broken (%v); restarting it\n", cfg.Dir, checkErr)
		if err := stopAll(s); err != nil {
			return nil, err
		}
	}
	// An Up killed before it wrote state.json leaves only pid files, and
	// node.json when it had claimed the real node (whose containers may
	// still run, with mounts below the directory).
	if err := stopPidFiles(cfg.Dir); err != nil {
		return nil, err
	}
	if n, err := loadNodeRecord(cfg.Dir); err == nil {
		if err := cleanNodeHost(cfg.Dir, n.Sysctls); err != nil {
			return nil, err
		}
	}
	if err := unmountBelow(cfg.Dir); err != nil {
		return nil, err
	}
	if err := clearState(cfg.Dir); err != nil {
		return nil, err
	}
	s, err := start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Down stops every process of the sandbox in dir and removes the directory.
// A directory without a sandbox is not an error.
func Down(ctx context.Context, dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	lockCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	unlock, err := lockFile(lockCtx, filepath.Join(dir, ".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	if s, err := Load(dir); err == nil {
		if err := stopAll(s); err != nil {
			return err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	// Processes of an Up that failed before writing state.json are found
	// by the pid files each start leaves, and its real node by node.json.
	if err := stopPidFiles(dir); err != nil {
		return err
	}
	if n, err := loadNodeRecord(dir); err == nil {
		if err := cleanNodeHost(dir, n.Sysctls); err != nil {
			return err
		}
	}
	// Never remove files through a mount that is still there.
	if err := unmountBelow(dir); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// stopAll stops the sandbox's processes, newest first (Traefik, the real
// node, then kwok and the controllers, the API server before etcd). After
// the real node's processes it removes what they left on the host.
func stopAll(s *Sandbox) error {
	var errs []error
	node := s.Node
	if node == nil {
		node, _ = loadNodeRecord(s.Dir)
	}
	passedNode := false
	for i := len(s.Components) - 1; i >= 0; i-- {
		c := s.Components[i]
		if node != nil && passedNode && !isNodeComponent(c.Name) {
			errs = append(errs, cleanNodeHost(s.Dir, node.Sysctls))
			node = nil
		}
		passedNode = passedNode || isNodeComponent(c.Name)
		if !pidAlive(c.PID, s.Dir) {
			continue
		}
		p := &process{name: c.Name, pid: c.PID, logPath: c.Log}
		errs = append(errs, p.stop(15*time.Second))
	}
	if node != nil {
		errs = append(errs, cleanNodeHost(s.Dir, node.Sysctls))
	}
	if s.Postgres != nil && s.Postgres.Dir != "" {
		// Its own directory when it is outside the state directory.
		errs = append(errs, os.RemoveAll(s.Postgres.Dir))
	}
	return errors.Join(errs...)
}

// clearState removes everything in dir but the lock file.
func clearState(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == ".lock" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// FindRepoRoot walks up from the working directory to the directory whose
// go.mod declares the deploy-actions module.
func FindRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(data), "module github.com/fxplatform/deploy-actions\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding the deploy-actions checkout: no go.mod of module github.com/fxplatform/deploy-actions above the working directory")
		}
		dir = parent
	}
}
