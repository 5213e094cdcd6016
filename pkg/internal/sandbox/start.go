package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// start builds what is missing and starts every server of a fresh sandbox.
// On failure it stops what it started and keeps the logs in cfg.Dir.
func start(ctx context.Context, cfg Config) (_ *Sandbox, err error) {
	say := func(format string, args ...any) { fmt.Fprintf(cfg.Progress, "sandbox: "+format+"\n", args...) }
	tools, err := findTools(ctx, cfg.LookPath, cfg.Install, toolRegistry, toolPrometheus, toolAlertmanager, toolPushgateway)
	if err != nil {
		return nil, err
	}
	var node *Node
	var nodeBins map[string]string // the node's Debian binaries
	if !cfg.NoRealNode {
		if nodeBins, node, err = prepareNode(ctx, cfg); err != nil {
			return nil, err
		}
		// Until the sandbox below exists, its stopAll cannot undo the claim.
		defer func() {
			if err != nil && node != nil {
				err = errors.Join(err, cleanNodeHost(cfg.Dir, node.Sysctls))
			}
		}()
	}
	builds := controlPlaneBuilds(cfg.RepoRoot)
	if !cfg.NoRealNode {
		builds = append(append(builds, nodeBuilds(cfg.RepoRoot)...), traefikBuild(cfg.RepoRoot))
	}
	bins, err := ensureAllBuilt(ctx, cfg.CacheDir, builds, &lockedWriter{w: cfg.Progress})
	if err != nil {
		return nil, err
	}
	for name, path := range cfg.Binaries {
		bins[name] = path
	}
	kwokDir, err := moduleDir(ctx, "sigs.k8s.io/kwok", KwokVersion)
	if err != nil {
		return nil, err
	}
	stages, err := readKwokStages(kwokDir)
	if err != nil {
		return nil, err
	}
	gatewayDir, err := moduleDir(ctx, "sigs.k8s.io/gateway-api", GatewayAPIVersion)
	if err != nil {
		return nil, err
	}

	names := []string{"etcd", "etcd-peer", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "prometheus", "alertmanager", "pushgateway", "kube-state", "postgres"}
	if !cfg.NoRealNode {
		names = append(append(names, nodePortNames...), gatewayPortNames...)
	}
	ports, err := reservePorts(names, map[string]int{"kube-apiserver": cfg.APIServerPort, "prometheus": cfg.PrometheusPort})
	if err != nil {
		return nil, err
	}
	if cfg.RegistryPort != 0 {
		if err := checkPortFree("registry", cfg.RegistryPort); err != nil {
			return nil, err
		}
	}
	files, err := writeControlPlaneFiles(filepath.Join(cfg.Dir, "kube"), ports["kube-apiserver"], stages)
	if err != nil {
		return nil, err
	}

	s := &Sandbox{Dir: cfg.Dir, Kubeconfig: files.kubeconfig, RegistryUser: cfg.RegistryUser, RegistryPassword: cfg.RegistryPassword, Owned: !cfg.Detach}
	defer func() {
		if err != nil {
			if stopErr := stopAll(s); stopErr != nil {
				err = errors.Join(err, stopErr)
			}
			node = nil // stopAll undid it
		}
	}()
	runSpec := func(spec procSpec) (*process, error) {
		spec.logPath, spec.detach = filepath.Join(cfg.Dir, "logs", spec.name+".log"), cfg.Detach
		p, err := startProcess(spec)
		if err != nil {
			return nil, err
		}
		s.Components = append(s.Components, Component{Name: spec.name, PID: p.pid, Port: ports[spec.name], Log: p.logPath})
		return p, writePidFile(cfg.Dir, spec.name, p.pid)
	}
	run := func(name, bin string, args []string) (*process, error) {
		return runSpec(procSpec{name: name, path: bin, args: args})
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "logs"), 0o755); err != nil {
		return nil, err
	}

	say("starting etcd, the registry, prometheus, alertmanager and the pushgateway")
	etcd, err := run("etcd", bins["etcd"], etcdArgs(filepath.Join(cfg.Dir, "etcd"), ports["etcd"], ports["etcd-peer"]))
	if err != nil {
		return nil, err
	}
	reg, err := StartRegistry(ctx, filepath.Join(cfg.Dir, "registry"), RegistryOptions{
		Username: cfg.RegistryUser, Password: cfg.RegistryPassword, Port: cfg.RegistryPort,
		Binary: tools[toolRegistry.binary], detach: cfg.Detach,
	})
	if err != nil {
		return nil, err
	}
	s.Registry = reg.Addr
	s.Components = append(s.Components, Component{Name: "registry", PID: reg.proc.pid, Port: portOf(reg.Addr), Log: reg.LogPath()})
	if err := writePidFile(cfg.Dir, "registry", reg.proc.pid); err != nil {
		return nil, err
	}
	amCfg, err := writeAlertmanagerConfig(filepath.Join(cfg.Dir, "alertmanager"))
	if err != nil {
		return nil, err
	}
	am, err := run("alertmanager", tools[toolAlertmanager.binary], alertmanagerArgs(filepath.Join(cfg.Dir, "alertmanager"), amCfg, ports["alertmanager"]))
	if err != nil {
		return nil, err
	}
	s.AlertmanagerURL = "http://" + hostPort(ports["alertmanager"])
	push, err := run("pushgateway", tools[toolPushgateway.binary], pushgatewayArgs(filepath.Join(cfg.Dir, "pushgateway"), ports["pushgateway"]))
	if err != nil {
		return nil, err
	}
	s.PushgatewayURL = "http://" + hostPort(ports["pushgateway"])
	pc := promConfig{alertmanager: hostPort(ports["alertmanager"]), pushgateway: hostPort(ports["pushgateway"])}
	if !cfg.NoRealNode {
		pc.kubelet, pc.token = net.JoinHostPort(nodeIP, strconv.Itoa(ports["kubelet"])), files.token
	}
	promCfg, err := writePrometheusConfig(filepath.Join(cfg.Dir, "prometheus"), pc)
	if err != nil {
		return nil, err
	}
	prom, err := run("prometheus", tools[toolPrometheus.binary], prometheusArgs(filepath.Join(cfg.Dir, "prometheus"), promCfg, ports["prometheus"]))
	if err != nil {
		return nil, err
	}
	s.PrometheusURL = "http://" + hostPort(ports["prometheus"])
	if err := waitReady(ctx, etcd, etcdTimeout, httpCheck("http://"+hostPort(ports["etcd"])+"/health", nil, false, "")); err != nil {
		return nil, err
	}

	say("starting kube-apiserver")
	apiserver, err := run("kube-apiserver", bins["kube-apiserver"], apiserverArgs(files, ports["kube-apiserver"], ports["etcd"]))
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, apiserver, apiserverTimeout, httpCheck(files.apiserverAt+"/readyz", files.caPEM, false, files.token)); err != nil {
		return nil, err
	}

	say("starting kube-controller-manager, kube-scheduler and kwok")
	kcm, err := run("kube-controller-manager", bins["kube-controller-manager"], controllerManagerArgs(files, ports["kube-controller-manager"]))
	if err != nil {
		return nil, err
	}
	sched, err := run("kube-scheduler", bins["kube-scheduler"], controllerArgs(files, "kube-scheduler", ports["kube-scheduler"]))
	if err != nil {
		return nil, err
	}
	kwok, err := run("kwok", bins["kwok"], kwokArgs(files, ports["kwok"]))
	if err != nil {
		return nil, err
	}
	for _, w := range []struct {
		p   *process
		url string
	}{
		{kcm, "https://" + hostPort(ports["kube-controller-manager"]) + "/healthz"},
		{sched, "https://" + hostPort(ports["kube-scheduler"]) + "/healthz"},
		{kwok, "http://" + hostPort(ports["kwok"]) + "/healthz"},
		{prom, s.PrometheusURL + "/-/ready"},
		{am, s.AlertmanagerURL + "/-/ready"},
		{push, s.PushgatewayURL + "/-/ready"},
	} {
		if err := waitReady(ctx, w.p, componentTimeout, httpCheck(w.url, nil, true, "")); err != nil {
			return nil, err
		}
	}

	// kube-state-metrics' Deployment series, from this very executable
	// (see RunAgentIfAsked), scraped as job kube-state-metrics.
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	ks, err := run("kube-state", self, kubeStateArgs(cfg.Dir, files.kubeconfig, ports["kube-state"]))
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, ks, componentTimeout, httpCheck("http://"+hostPort(ports["kube-state"])+"/healthz", nil, false, "")); err != nil {
		return nil, err
	}
	if err := s.AddScrapeTarget("kube-state", []string{hostPort(ports["kube-state"])}, map[string]string{"job": "kube-state-metrics"}); err != nil {
		return nil, err
	}

	say("creating %d fake nodes and the Gateway API CRDs", cfg.Nodes)
	if err := setUpCluster(ctx, s, cfg.Nodes, gatewayDir, map[string]*process{"kwok": kwok, "kube-controller-manager": kcm}); err != nil {
		return nil, err
	}
	if !cfg.NoRealNode {
		say("starting the real node (containerd, kubelet, kube-proxy)")
		if err := startNode(ctx, s, cfg, node, nodeBins, bins, ports, run); err != nil {
			return nil, err
		}
		say("starting traefik, the Gateway API data plane")
		if err := startGateway(ctx, s, cfg, files, bins["traefik"], ports, run); err != nil {
			return nil, err
		}
	}
	// After the real node, whose address it listens on for the pods.
	say("starting postgresql")
	if err := startPostgres(ctx, s, cfg, ports["postgres"], runSpec); err != nil {
		return nil, err
	}
	s.Started = time.Now().UTC()
	if err := s.save(); err != nil {
		return nil, fmt.Errorf("writing sandbox state: %w", err)
	}
	return s, nil
}

func portOf(addr string) int {
	i := strings.LastIndexByte(addr, ':')
	p, _ := strconv.Atoi(addr[i+1:])
	return p
}

// writePidFile records a started process so that Down finds it even if Up
// failed before writing state.json.
func writePidFile(dir, name string, pid int) error {
	pids := filepath.Join(dir, "pids")
	if err := os.MkdirAll(pids, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(pids, name+".pid"), []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

func stopPidFiles(dir string) error {
	entries, _ := os.ReadDir(filepath.Join(dir, "pids"))
	var errs []error
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, "pids", e.Name()))
		if err != nil {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		if pidAlive(pid, dir) {
			p := &process{name: strings.TrimSuffix(e.Name(), ".pid"), pid: pid}
			errs = append(errs, p.stop(15*time.Second))
		}
	}
	return errors.Join(errs...)
}

// moduleDir returns the module cache directory of path@version, downloading
// it through the Go module proxy if needed.
func moduleDir(ctx context.Context, path, version string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", path+"@"+version)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOWORK=off", "GOFLAGS=")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("downloading module %s@%s: %w", path, version, err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", fmt.Errorf("downloading module %s@%s: %w", path, version, err)
	}
	if m.Error != "" || m.Dir == "" {
		return "", fmt.Errorf("downloading module %s@%s: %s", path, version, m.Error)
	}
	return m.Dir, nil
}

// lockedWriter serialises writes from concurrent builds.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
