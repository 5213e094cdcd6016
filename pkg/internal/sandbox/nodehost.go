package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The real node's addresses and host objects. They are fixed: one real node
// runs on a machine at a time (its kube-proxy owns the host's iptables).
const (
	// NodeName is the real node's name; RealNodeLabel=RealNodeLabelValue
	// is on it, and RealNodeTaint keeps every pod that does not tolerate it
	// on the kwok nodes.
	NodeName           = "real-node"
	RealNodeLabel      = "deploy-actions.dev/node"
	RealNodeLabelValue = "real"
	RealNodeTaint      = "deploy-actions.dev/real-node"

	nodeBridge = "da-sandbox0" // at most 15 characters
	nodeIP     = "10.245.0.1"
	// podCIDR is large so that host-local, which hands addresses out in
	// turn, does not give a new pod a recent pod's address within a
	// sandbox's life: the host's neighbour cache would still hold the old
	// pod's MAC for it (the bridge plugin's MACs are random), and
	// connections to the new pod would go nowhere for seconds. With a /24
	// the sandbox's tests wrapped around in one run.
	podCIDR     = "10.245.0.0/16"
	podCIDRBits = "16"
	serviceCIDR = "10.96.0.0/16"
	// guardChain is the sandbox's own chain, in two tables. In mangle it
	// drops forwarded pod traffic bound for anything but the pod bridge
	// (kube-proxy and the CNI plugins never touch mangle, so no rule of
	// theirs can come before it); in filter it refuses what reaches the
	// Service CIDR untranslated (setUpNodeNetwork).
	guardChain = "DEPLOY-ACTIONS-GUARD"
	// cgroupRoot is the kubelet's cgroup root: every container of the real
	// node runs below it, in every hierarchy.
	cgroupRoot = "deploy-actions-sandbox"
)

// nodeClaimPath records which sandbox runs the machine's real node.
const nodeClaimPath = "/run/deploy-actions-sandbox/real-node"

// hostSysctls are the kernel settings the real node's parts change: the CNI
// bridge turns on forwarding, and the kubelet sets its "kernel tunables".
// Up records them and Down puts them back.
var hostSysctls = []string{
	"net/ipv4/ip_forward",
	"net/ipv4/conf/all/route_localnet",
	"vm/overcommit_memory",
	"vm/panic_on_oom",
	"kernel/panic",
	"kernel/panic_on_oops",
	"kernel/keys/root_maxkeys",
	"kernel/keys/root_maxbytes",
}

// readSysctls returns the current value of each of hostSysctls that exists.
func readSysctls() map[string]string {
	out := map[string]string{}
	for _, k := range hostSysctls {
		if data, err := os.ReadFile("/proc/sys/" + k); err == nil {
			out[k] = strings.TrimSpace(string(data))
		}
	}
	return out
}

func restoreSysctls(saved map[string]string) error {
	var errs []error
	for k, v := range saved {
		cur, err := os.ReadFile("/proc/sys/" + k)
		if err == nil && strings.TrimSpace(string(cur)) == v {
			continue
		}
		if err := os.WriteFile("/proc/sys/"+k, []byte(v+"\n"), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("restoring sysctl %s=%s: %w", k, v, err))
		}
	}
	return errors.Join(errs...)
}

// claimNode records dir as the owner of the machine's real node, under a
// lock so that two Ups cannot both pass. A claim by another sandbox whose
// kubelet or containerd still runs is an error naming it. A stale claim is
// cleaned up first, with the sysctls its owner recorded, and its owner's
// record removed, so that owner's Down no longer touches the host. With no
// claim, iptables chains of a Kubernetes that is not ours refuse the node:
// its Down would delete them.
func claimNode(ctx context.Context, dir string) error {
	if err := os.MkdirAll(filepath.Dir(nodeClaimPath), 0o755); err != nil {
		return err
	}
	unlock, err := lockFile(ctx, nodeClaimPath+".lock")
	if err != nil {
		return err
	}
	defer unlock()
	owner := claimOwner()
	switch {
	case owner == dir:
	case owner != "" && ownerAlive(owner):
		return fmt.Errorf("the real node of the sandbox in %s is running (one real node per machine: its kube-proxy owns the host's iptables); stop it with `SANDBOX_DIR=%s scripts/sandbox down`", owner, owner)
	case owner != "":
		var saved map[string]string
		if n, err := loadNodeRecord(owner); err == nil {
			saved = n.Sysctls
		}
		if err := cleanNodeHostAs(owner, saved, true); err != nil {
			return fmt.Errorf("cleaning up the stale real node of %s: %w", owner, err)
		}
	case !linkExists(nodeBridge):
		if chains := foreignChains(ctx); len(chains) > 0 {
			return fmt.Errorf("iptables holds chains of a Kubernetes that is not this sandbox's (%s); the real node's kube-proxy would fight it and its Down would delete them: stop that Kubernetes, or use --no-real-node", strings.Join(chains, ", "))
		}
	}
	return os.WriteFile(nodeClaimPath, []byte(dir+"\n"), 0o644)
}

// claimOwner returns the state directory that claims the real node, or "".
func claimOwner() string {
	data, err := os.ReadFile(nodeClaimPath)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// ownsHost reports whether the sandbox in dir may clean the host-wide
// objects of the real node (bridge, iptables chains, cgroups, sysctls): it
// claims the node, or nobody does.
func ownsHost(dir string) bool {
	owner := claimOwner()
	return owner == dir || owner == ""
}

// ownerAlive reports whether the real node of the sandbox in dir runs: its
// containerd, kubelet or kube-proxy (not a shim left by a killed run, not a
// process that only names a file of dir).
func ownerAlive(dir string) bool {
	for _, pid := range pidsWithMarker(filepath.Join(dir, "node") + "/") {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil {
			continue
		}
		switch strings.TrimSpace(string(comm)) {
		case "containerd", "kubelet", "kube-proxy":
			return true
		}
	}
	return false
}

// foreignChains lists KUBE-* and CNI-* chains in iptables: with no bridge
// of ours, they are another Kubernetes'.
func foreignChains(ctx context.Context) []string {
	var out []string
	for _, bin := range []string{"iptables", "ip6tables"} {
		for table, t := range leftRules(ctx, bin) {
			for _, c := range t.owned {
				if c != guardChain {
					out = append(out, bin+" "+table+" "+c)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func releaseNode(dir string) {
	if claimOwner() == dir {
		os.Remove(nodeClaimPath)
	}
}

// setUpNodeNetwork makes the pod bridge with the node's address, routes the
// Service CIDR to it (so a ClusterIP kube-proxy has not programmed yet fails
// on the machine instead of following the default route off it), refuses
// what reaches the Service CIDR untranslated, and drops forwarded pod
// traffic that would leave through any other interface.
func setUpNodeNetwork(ctx context.Context) error {
	steps := [][]string{
		{"ip", "link", "add", nodeBridge, "type", "bridge"},
		{"ip", "addr", "add", nodeIP + "/" + podCIDRBits, "dev", nodeBridge},
		{"ip", "link", "set", nodeBridge, "up"},
		{"ip", "route", "add", serviceCIDR, "dev", nodeBridge, "src", nodeIP},
		{"iptables", "-w", "-t", "mangle", "-N", guardChain},
		{"iptables", "-w", "-t", "mangle", "-A", guardChain, "-s", podCIDR, "!", "-o", nodeBridge, "-j", "DROP"},
		{"iptables", "-w", "-t", "mangle", "-I", "FORWARD", "1", "-j", guardChain},
		// A packet still bound for the Service CIDR after the nat table
		// (a ClusterIP kube-proxy has not programmed, or one it is
		// reprogramming) is refused at once. Sent on to the bridge, nobody
		// would answer it, and its connection-tracking entry, an
		// unanswered SYN kept 120 s, would catch any later connection from
		// the same source port to that address before NAT could translate
		// it: the "host unreachable" after 3 s that rollout tests saw about
		// once in five CI runs. Refused here, the packet is dropped before
		// its entry is confirmed, so no entry is left.
		{"iptables", "-w", "-t", "filter", "-N", guardChain},
		{"iptables", "-w", "-t", "filter", "-A", guardChain, "-d", serviceCIDR, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"},
		{"iptables", "-w", "-t", "filter", "-A", guardChain, "-d", serviceCIDR, "-j", "REJECT"},
		{"iptables", "-w", "-t", "filter", "-I", "OUTPUT", "1", "-j", guardChain},
		{"iptables", "-w", "-t", "filter", "-I", "FORWARD", "1", "-j", guardChain},
	}
	for _, s := range steps {
		if err := runHost(ctx, s...); err != nil {
			return err
		}
	}
	return nil
}

func runHost(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = processEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("running %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// processEnv is the environment of every process the sandbox starts and
// of the commands it runs for the node: the caller's, with the system directories where
// Debian puts ip, iptables, runc and mount on PATH.
//
// KUBECONFIG is left out: every component is given this sandbox's cluster
// explicitly, and Traefik prefers $KUBECONFIG to its own configuration, so a
// caller's (another sandbox's, or a real cluster's) would be watched instead.
func processEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KUBECONFIG=") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	path := os.Getenv("PATH")
	for _, d := range []string{"/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		if !strings.Contains(":"+path+":", ":"+d+":") {
			path += ":" + d
		}
	}
	return append(env, "PATH="+strings.TrimPrefix(path, ":"))
}

// cleanNodeHost removes everything the real node of the sandbox in dir left
// on the host, whether its processes stopped cleanly or were killed: the
// containers' processes (everything in its cgroups, and containerd's shims),
// its cgroups, every mount below dir, the bridge with its route, the
// iptables chains of kube-proxy, the kubelet, the CNI plugins and the guard,
// the claim, and its record (node.json). saved sysctls, when given, are put
// back. The host-wide
// steps (cgroups, bridge, chains, sysctls) run only while dir claims the
// node, or nobody does: a sandbox whose node was taken over cleans only
// what is below its own directory. Each step runs even if an earlier one
// failed; the errors are joined.
func cleanNodeHost(dir string, saved map[string]string) error {
	return cleanNodeHostAs(dir, saved, ownsHost(dir))
}

func cleanNodeHostAs(dir string, saved map[string]string, hostWide bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	nodeDir := filepath.Join(dir, "node")
	var errs []error
	if hostWide {
		errs = append(errs, killNodeProcesses(nodeDir, true))
		errs = append(errs, removeCgroups())
	} else {
		errs = append(errs, killNodeProcesses(nodeDir, false))
	}
	errs = append(errs, unmountBelow(nodeDir))
	if hostWide {
		if linkExists(nodeBridge) {
			errs = append(errs, runHost(ctx, "ip", "link", "delete", nodeBridge))
		}
		errs = append(errs, removeRules(ctx))
		if saved != nil {
			errs = append(errs, restoreSysctls(saved))
		}
	}
	releaseNode(dir)
	err := errors.Join(errs...)
	if err == nil {
		// Cleaned: no later Up or Down of dir cleans it again, and a
		// sandbox whose node was taken over no longer touches the host.
		os.Remove(filepath.Join(dir, nodeRecord))
	}
	return err
}

// killNodeProcesses SIGKILLs every process naming nodeDir (containerd's
// shims, and containerd, the kubelet and kube-proxy if they still run) and,
// with inCgroups, every process in the node's cgroups (the pods'
// containers), and waits for them to go.
func killNodeProcesses(nodeDir string, inCgroups bool) error {
	marker := nodeDir + "/"
	cgroupPids := cgroupPids
	if !inCgroups {
		cgroupPids = func() []int { return nil }
	}
	// containerd's shims listen on sockets in /run/containerd/s, a path
	// containerd 1.6 does not let us move; a killed shim leaves its socket.
	sockets := listeningSockets(pidsWithMarker(marker))
	defer func() {
		for _, s := range sockets {
			if strings.HasPrefix(s, "/run/containerd/") {
				os.Remove(s)
			}
		}
		if target, err := os.Readlink(cadvisorSocket); err == nil && strings.HasPrefix(target, marker) {
			os.Remove(cadvisorSocket)
		}
		// Empty now unless another containerd uses them.
		for _, d := range []string{"/run/containerd/s", "/run/containerd"} {
			os.Remove(d)
		}
	}()
	for attempt := 0; attempt < 100; attempt++ {
		pids := append(cgroupPids(), pidsWithMarker(marker)...)
		if len(pids) == 0 {
			return nil
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("processes of the real node still running after SIGKILL: %v", append(cgroupPids(), pidsWithMarker(marker)...))
}

// listeningSockets returns the paths of the Unix sockets the processes pids
// hold open, found by matching their descriptors' inodes in /proc/net/unix.
func listeningSockets(pids []int) []string {
	inodes := map[string]bool{}
	for _, pid := range pids {
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
			if err == nil && strings.HasPrefix(target, "socket:[") {
				inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
			}
		}
	}
	data, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n")[1:] {
		// Num RefCount Protocol Flags Type St Inode Path
		f := strings.Fields(line)
		if len(f) >= 8 && inodes[f[6]] && strings.HasPrefix(f[7], "/") {
			out = append(out, f[7])
		}
	}
	return out
}

// pidsWithMarker lists live processes whose command line contains marker.
func pidsWithMarker(marker string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if pidAlive(pid, marker) {
			out = append(out, pid)
		}
	}
	return out
}

// cgroupDirs returns every directory of the node's cgroup root, in every
// mounted hierarchy, deepest first.
func cgroupDirs() []string {
	var dirs []string
	for _, mnt := range cgroupMounts() {
		root := filepath.Join(mnt, cgroupRoot)
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
	}
	sort.Slice(dirs, func(i, j int) bool { return strings.Count(dirs[i], "/") > strings.Count(dirs[j], "/") })
	return dirs
}

func cgroupPids() []int {
	seen := map[int]bool{}
	var out []int
	for _, d := range cgroupDirs() {
		data, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil && !seen[pid] {
				seen[pid] = true
				out = append(out, pid)
			}
		}
	}
	return out
}

// makeCgroups creates the kubelet's cgroup root in every hierarchy (the
// kubelet refuses a root that is missing in any). A v1 cpuset cgroup starts
// with no CPUs or memory nodes, so those are copied from the parent.
func makeCgroups() error {
	for _, mnt := range cgroupMounts() {
		dir := filepath.Join(mnt, cgroupRoot)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("creating cgroup %s: %w", dir, err)
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			parent, err := os.ReadFile(filepath.Join(mnt, f))
			if err != nil {
				continue // not the cpuset hierarchy
			}
			if err := os.WriteFile(filepath.Join(dir, f), parent, 0o644); err != nil {
				return fmt.Errorf("setting %s of cgroup %s: %w", f, dir, err)
			}
		}
	}
	return nil
}

func removeCgroups() error {
	var errs []error
	for _, d := range cgroupDirs() {
		if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("removing cgroup %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

// cgroupMounts returns the mount points of the cgroup hierarchies (v1 and v2).
func cgroupMounts() []string {
	var out []string
	for _, m := range readMounts() {
		if m.fstype == "cgroup" || m.fstype == "cgroup2" {
			out = append(out, m.point)
		}
	}
	return out
}

type mount struct{ point, fstype string }

// readMounts reads the mount table of this process's mount namespace.
func readMounts() []mount {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []mount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root point options [optional...] - fstype source super
		fields := strings.Fields(sc.Text())
		if len(fields) < 7 {
			continue
		}
		sep := 6
		for sep < len(fields) && fields[sep] != "-" {
			sep++
		}
		m := mount{point: unescapeMount(fields[4])}
		if sep+1 < len(fields) {
			m.fstype = fields[sep+1]
		}
		out = append(out, m)
	}
	return out
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountsBelow lists the mount points at or below dir, deepest first.
func mountsBelow(dir string) []string {
	var out []string
	for _, m := range readMounts() {
		if m.point == dir || strings.HasPrefix(m.point, dir+"/") {
			out = append(out, m.point)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// unmountBelow detaches every mount at or below dir (overlay root
// filesystems, the pods' shm and volumes, network namespace files, the
// kubelet's own bind mount). A mount may be stacked, so it loops until none
// is left.
func unmountBelow(dir string) error {
	for attempt := 0; attempt < 20; attempt++ {
		points := mountsBelow(dir)
		if len(points) == 0 {
			return nil
		}
		for _, p := range points {
			_ = syscall.Unmount(p, syscall.MNT_DETACH)
		}
	}
	return fmt.Errorf("mounts left below %s: %v", dir, mountsBelow(dir))
}

func linkExists(name string) bool {
	_, err := os.Stat("/sys/class/net/" + name)
	return err == nil
}

// ownedChain reports whether an iptables chain was made by the real node's
// parts: kube-proxy and the kubelet (KUBE-), the CNI plugins (CNI-), or the
// sandbox's guard.
func ownedChain(name string) bool {
	return strings.HasPrefix(name, "KUBE-") || strings.HasPrefix(name, "CNI-") || name == guardChain
}

// removeRules deletes, in both address families and every table, each rule
// that jumps to a chain of ownedChain and then those chains. It reads the
// rules with iptables-save and deletes them one by one, so rules of others
// stay as they were.
func removeRules(ctx context.Context) error {
	var errs []error
	for _, bin := range []string{"iptables", "ip6tables"} {
		if _, err := exec.LookPath(bin); err != nil {
			continue
		}
		for table, chains := range leftRules(ctx, bin) {
			for _, rule := range chains.jumps {
				args := append([]string{bin, "-w", "-t", table, "-D"}, rule...)
				if err := runHost(ctx, args...); err != nil {
					errs = append(errs, err)
				}
			}
			for _, c := range chains.owned {
				_ = runHost(ctx, bin, "-w", "-t", table, "-F", c)
			}
			for _, c := range chains.owned {
				if err := runHost(ctx, bin, "-w", "-t", table, "-X", c); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// tableRules are what removeRules finds in one table: the chains to remove
// and the rules of other chains that jump to them.
type tableRules struct {
	owned []string
	jumps [][]string // chain and rule spec, as for iptables -D
}

// leftRules reads bin-save and returns, per table, what the real node left.
func leftRules(ctx context.Context, bin string) map[string]*tableRules {
	out, err := exec.CommandContext(ctx, bin+"-save").Output()
	if err != nil {
		return nil
	}
	return parseLeftRules(out)
}

func parseLeftRules(save []byte) map[string]*tableRules {
	tables := map[string]*tableRules{}
	var cur *tableRules
	sc := bufio.NewScanner(bytes.NewReader(save))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "*"):
			cur = &tableRules{}
			tables[line[1:]] = cur
		case cur == nil:
		case strings.HasPrefix(line, ":"):
			name, _, _ := strings.Cut(line[1:], " ")
			if ownedChain(name) {
				cur.owned = append(cur.owned, name)
			}
		case strings.HasPrefix(line, "-A "):
			f := splitRule(line[3:])
			if len(f) == 0 || ownedChain(f[0]) {
				continue // flushed with its chain
			}
			for i := 1; i+1 < len(f); i++ {
				if (f[i] == "-j" || f[i] == "-g") && ownedChain(f[i+1]) {
					cur.jumps = append(cur.jumps, f)
					break
				}
			}
		}
	}
	for name, t := range tables {
		if len(t.owned) == 0 && len(t.jumps) == 0 {
			delete(tables, name)
		}
	}
	return tables
}

// splitRule splits an iptables-save rule into words, keeping double-quoted
// words (comments) whole and unquoted, as iptables takes them as arguments.
func splitRule(s string) []string {
	var out []string
	var b strings.Builder
	inQuote, have := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && inQuote && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == '"':
			inQuote, have = !inQuote, true
		case c == ' ' && !inQuote:
			if have {
				out = append(out, b.String())
				b.Reset()
				have = false
			}
		default:
			b.WriteByte(c)
			have = true
		}
	}
	if have {
		out = append(out, b.String())
	}
	return out
}
