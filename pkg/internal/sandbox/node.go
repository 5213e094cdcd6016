package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Node is the real node of a running sandbox, as recorded in its state.
type Node struct {
	Name        string `json:"name"`
	IP          string `json:"ip"`
	PodCIDR     string `json:"podCIDR"`
	ServiceCIDR string `json:"serviceCIDR"`
	Bridge      string `json:"bridge"`
	PauseImage  string `json:"pauseImage"`
	// Sysctls are the host's kernel settings before the node started;
	// Down puts them back.
	Sysctls map[string]string `json:"sysctls"`
}

// nodeTimeout bounds each wait of the node's start: containerd's socket,
// the Node turning Ready, kube-proxy's first sync (about a second here).
const nodeTimeout = 2 * time.Minute

// nodeTools are the Debian packages the real node runs on.
var nodeTools = []debianTool{
	{binary: "containerd", pkg: "containerd"},
	{binary: "runc", pkg: "runc"},
	{binary: "containerd-shim-runc-v2", pkg: "containerd"},
	{binary: "iptables", pkg: "iptables"},
	{binary: "ip", pkg: "iproute2"},
	{binary: "/usr/lib/cni/bridge", pkg: "containernetworking-plugins"},
	{binary: "/usr/lib/cni/host-local", pkg: "containernetworking-plugins"},
	{binary: "/usr/lib/cni/loopback", pkg: "containernetworking-plugins"},
}

// checkNodeKernel returns an error naming the first kernel feature the real
// node needs that this machine lacks.
func checkNodeKernel() error {
	if os.Geteuid() != 0 {
		return errors.New("the real node needs root (containerd, the kubelet and kube-proxy manage mounts, cgroups and iptables)")
	}
	fs, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return err
	}
	if !bytes.Contains(fs, []byte("\toverlay\n")) {
		return errors.New("the kernel has no overlay filesystem (containerd's overlayfs snapshotter needs it; try `modprobe overlay`)")
	}
	have := map[string]bool{}
	for _, m := range readMounts() {
		if m.fstype == "cgroup2" {
			have["cgroup2"] = true
		}
		if m.fstype == "cgroup" {
			for _, c := range strings.Split(filepath.Base(m.point), ",") {
				have[c] = true
			}
		}
	}
	if !have["cgroup2"] {
		for _, c := range []string{"cpu", "cpuacct", "cpuset", "memory", "pids"} {
			if !have[c] {
				return fmt.Errorf("the cgroup controller %q is not mounted (the kubelet needs cpu, cpuacct, cpuset, memory and pids)", c)
			}
		}
	}
	return nil
}

// nodeError names the real node as the failed component of err, unless
// err names one already.
func nodeError(cfg Config, err error) error {
	if err == nil {
		return nil
	}
	var ce *ComponentError
	if errors.As(err, &ce) {
		return err
	}
	return &ComponentError{Component: "real node", Err: err, LogPath: filepath.Join(cfg.Dir, "logs")}
}

// prepareNode runs before anything is built or started, so that a machine
// that cannot run the real node is told at once: the kernel's features,
// the Debian packages, and the claim on the machine's one real node. It
// records the node (with the host's sysctls before it), so that a start
// that fails or is killed from here on is undone by Down, and returns the
// packages' binaries.
func prepareNode(ctx context.Context, cfg Config) (map[string]string, *Node, error) {
	if err := checkNodeKernel(); err != nil {
		return nil, nil, nodeError(cfg, err)
	}
	tools, err := findTools(ctx, cfg.LookPath, cfg.Install, nodeTools...)
	if err != nil {
		return nil, nil, nodeError(cfg, err)
	}
	if err := claimNode(ctx, cfg.Dir); err != nil {
		return nil, nil, nodeError(cfg, err)
	}
	n := &Node{Name: NodeName, IP: nodeIP, PodCIDR: podCIDR, ServiceCIDR: serviceCIDR, Bridge: nodeBridge, Sysctls: readSysctls()}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "node"), 0o755); err != nil {
		return nil, nil, nodeError(cfg, err)
	}
	if err := saveNodeRecord(cfg.Dir, n); err != nil {
		return nil, nil, nodeError(cfg, err)
	}
	return tools, n, nil
}

// startNode starts the real node that prepareNode claimed: the host network
// (bridge, Service route, guard rule), containerd, the kubelet, and
// kube-proxy, and waits until the Node is Ready and kube-proxy has written
// its rules. run starts a process as one of the sandbox's components.
func startNode(ctx context.Context, s *Sandbox, cfg Config, node *Node, tools, bins map[string]string, ports map[string]int, run func(name, bin string, args []string) (*process, error)) error {
	fail := func(err error) error { return nodeError(cfg, err) }
	s.Node = node
	dir := filepath.Join(cfg.Dir, "node")
	var err error
	if err := makeCgroups(); err != nil {
		return fail(err)
	}
	if err := setUpNodeNetwork(ctx); err != nil {
		return fail(fmt.Errorf("setting up the node's network: %w", err))
	}
	if s.Node.PauseImage, err = pushPause(ctx, bins["pause"], s.Registry, cfg.RegistryUser, cfg.RegistryPassword); err != nil {
		return fail(fmt.Errorf("pushing the pause image: %w", err))
	}
	files, err := writeNodeFiles(dir, s, ports, cfg)
	if err != nil {
		return fail(err)
	}

	ctrd, err := run("containerd", tools["containerd"], []string{"--config", files.containerd})
	if err != nil {
		return fail(err)
	}
	if err := waitReady(ctx, ctrd, nodeTimeout, unixSocketCheck(files.socket)); err != nil {
		return err
	}
	if err := linkCadvisorSocket(files.socket); err != nil {
		return err
	}
	kubelet, err := run("kubelet", bins["kubelet"], []string{
		"--config=" + files.kubelet, "--kubeconfig=" + s.Kubeconfig,
		"--root-dir=" + filepath.Join(dir, "kubelet"), "--hostname-override=" + NodeName, "--node-ip=" + nodeIP,
		"--node-labels=" + RealNodeLabel + "=" + RealNodeLabelValue, "--v=1",
	})
	if err != nil {
		return fail(err)
	}
	client, err := s.Client()
	if err != nil {
		return fail(err)
	}
	if err := waitReady(ctx, kubelet, nodeTimeout, func(ctx context.Context) error {
		n, err := client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				if c.Status == corev1.ConditionTrue {
					return nil
				}
				return fmt.Errorf("node %s not Ready: %s", NodeName, c.Message)
			}
		}
		return fmt.Errorf("node %s has no Ready condition yet", NodeName)
	}); err != nil {
		return err
	}
	proxy, err := run("kube-proxy", bins["kube-proxy"], []string{"--config=" + files.kubeProxy, "--v=2"})
	if err != nil {
		return fail(err)
	}
	return waitReady(ctx, proxy, nodeTimeout, httpCheck("http://"+hostPort(ports["kube-proxy-healthz"])+"/healthz", nil, false, ""))
}

func isNodeComponent(name string) bool {
	return name == "containerd" || name == "kubelet" || name == "kube-proxy"
}

const nodeRecord = "node/node.json"

func saveNodeRecord(dir string, n *Node) error {
	data, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, nodeRecord), data, 0o600)
}

func loadNodeRecord(dir string) (*Node, error) {
	data, err := os.ReadFile(filepath.Join(dir, nodeRecord))
	if err != nil {
		return nil, err
	}
	var n Node
	if err := json.Unmarshal(data, &n); err != nil {
		return nil, err
	}
	return &n, nil
}

// unixSocketCheck succeeds once something accepts connections on path.
func unixSocketCheck(path string) func(context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "unix", path)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// pushPause pushes a one-file image holding the static pause program to the
// sandbox registry and returns its reference by digest.
func pushPause(ctx context.Context, bin, registry, user, password string) (string, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	img, err := fileImage([]imageFile{{name: "pause", data: data}}, func(c *v1.Config) {
		c.Entrypoint = []string{"/pause"}
		c.User = "65535:65535"
	})
	if err != nil {
		return "", err
	}
	return pushImage(ctx, img, registry+"/sandbox/pause:v1", user, password)
}

// nodeFiles are the configs the node's processes read.
type nodeFiles struct {
	containerd, socket, kubelet, kubeProxy string
}

func writeNodeFiles(dir string, s *Sandbox, ports map[string]int, cfg Config) (*nodeFiles, error) {
	f := &nodeFiles{
		containerd: filepath.Join(dir, "containerd.toml"),
		socket:     filepath.Join(dir, "containerd", "containerd.sock"),
		kubelet:    filepath.Join(dir, "kubelet.yaml"),
		kubeProxy:  filepath.Join(dir, "kube-proxy.yaml"),
	}
	hostsDir := filepath.Join(dir, "containerd", "certs.d", s.Registry)
	cniDir := filepath.Join(dir, "cni")
	for _, d := range []string{hostsDir, cniDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	write := func(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }
	if err := write(f.containerd, containerdConfig(dir, f.socket, s.Node.PauseImage, s.Registry, cfg.RegistryUser, cfg.RegistryPassword)); err != nil {
		return nil, err
	}
	hosts := fmt.Sprintf("server = %q\n\n[host.%q]\n  capabilities = [\"pull\", \"resolve\"]\n", "http://"+s.Registry, "http://"+s.Registry)
	if err := write(filepath.Join(hostsDir, "hosts.toml"), hosts); err != nil {
		return nil, err
	}
	if err := write(filepath.Join(cniDir, "10-sandbox.conflist"), cniConfig(filepath.Join(dir, "cni-ipam"))); err != nil {
		return nil, err
	}
	// The control plane's CA: the API server's client certificate for
	// logs and exec is signed by it.
	clientCA := filepath.Join(filepath.Dir(s.Kubeconfig), "ca.crt")
	if err := write(f.kubelet, kubeletConfig(dir, f.socket, clientCA, ports)); err != nil {
		return nil, err
	}
	if err := write(f.kubeProxy, kubeProxyConfig(s.Kubeconfig, ports)); err != nil {
		return nil, err
	}
	return f, nil
}

// containerdConfig keeps all of containerd's state below dir. Root cannot
// lower oom_score_adj on these machines, so without restrict_oom_score_adj
// every pod sandbox fails ("can't get final child's PID from pipe: EOF").
// Network namespaces go below the state directory, so Down finds them.
func containerdConfig(dir, socket, pause, registry, user, password string) string {
	c := filepath.Join(dir, "containerd")
	var b strings.Builder
	fmt.Fprintf(&b, `version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = %q

[ttrpc]
  address = %q

[plugins."io.containerd.internal.v1.opt"]
  path = %q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = %q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = %q
`, filepath.Join(c, "root"), filepath.Join(c, "state"), socket, socket+".ttrpc", filepath.Join(c, "opt"),
		pause, filepath.Join(c, "runc"), filepath.Join(dir, "cni"), filepath.Join(c, "certs.d"))
	if user != "" {
		fmt.Fprintf(&b, "    [plugins.\"io.containerd.grpc.v1.cri\".registry.configs.%q.auth]\n      username = %q\n      password = %q\n", registry, user, password)
	}
	return b.String()
}

// cniConfig is the pods' network: one bridge with the node's address as the
// gateway, no masquerading (pod traffic is never translated towards the
// uplink), addresses from podCIDR kept below ipamDir.
func cniConfig(ipamDir string) string {
	return fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "deploy-actions-sandbox",
  "plugins": [
    {
      "type": "bridge",
      "bridge": %q,
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": %q,
        "ranges": [[{"subnet": %q, "gateway": %q}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "loopback"}
  ]
}
`, nodeBridge, ipamDir, podCIDR, nodeIP)
}

// kubeletConfig: cgroups are v1 here (failCgroupV1: false) with the
// cgroupfs driver; every container runs below cgroupRoot so Down can find
// them; pod logs stay below dir; eviction thresholds are low so a full CI
// disk does not evict the tests' pods; the API server's client certificate
// (clientCA's) logs in for logs and exec, tokens through the webhook.
func kubeletConfig(dir, socket, clientCA string, ports map[string]int) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %s
port: %d
healthzBindAddress: 127.0.0.1
healthzPort: %d
readOnlyPort: 0
containerRuntimeEndpoint: unix://%s
cgroupDriver: cgroupfs
cgroupRoot: /%s
failCgroupV1: false
failSwapOn: false
podLogsDir: %s
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: %s
authorization:
  mode: Webhook
registerWithTaints:
- key: %s
  value: "true"
  effect: NoSchedule
evictionHard:
  memory.available: 100Mi
  nodefs.available: "1%%"
  nodefs.inodesFree: "1%%"
  imagefs.available: "1%%"
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
serializeImagePulls: false
resolvConf: /etc/resolv.conf
`, nodeIP, ports["kubelet"], ports["kubelet-healthz"], socket, cgroupRoot, filepath.Join(dir, "pod-logs"), clientCA, RealNodeTaint)
}

// kubeProxyConfig: iptables mode; conntrack settings left as the host has
// them (0 means "do not change"); no route_localnet (localhostNodePorts
// off); NodePorts only on the node's own address.
func kubeProxyConfig(kubeconfig string, ports map[string]int) string {
	return fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: %s
hostnameOverride: %s
mode: iptables
clusterCIDR: %s
bindAddress: %s
healthzBindAddress: 127.0.0.1:%d
metricsBindAddress: 127.0.0.1:%d
nodePortAddresses: ["%s/32"]
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  localhostNodePorts: false
  masqueradeAll: false
  syncPeriod: 30s
  minSyncPeriod: 1s
`, kubeconfig, NodeName, podCIDR, nodeIP, ports["kube-proxy-healthz"], ports["kube-proxy-metrics"], nodeIP)
}

// nodePortNames are the loopback ports the node's processes listen on.
var nodePortNames = []string{"kubelet", "kubelet-healthz", "kube-proxy-healthz", "kube-proxy-metrics"}

// cadvisorSocket is where the kubelet's cAdvisor looks for containerd (a
// path no flag or setting of the kubelet moves): without containerd there,
// its series of the containers carry no namespace, pod or container label,
// and the CPU and memory alerts would have nothing to read.
const cadvisorSocket = "/run/containerd/containerd.sock"

// linkCadvisorSocket points cadvisorSocket at the node's containerd,
// unless the host has a containerd of its own there (then cAdvisor reads
// that one, and the containers' series go unlabelled). Down removes the
// link.
func linkCadvisorSocket(socket string) error {
	if _, err := os.Lstat(cadvisorSocket); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(cadvisorSocket), 0o711); err != nil {
		return err
	}
	return os.Symlink(socket, cadvisorSocket)
}
