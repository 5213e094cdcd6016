// Package lifecycle tests what the sandbox's Up and Down do to the host:
// that Down leaves no process, mount, network interface, route, iptables
// rule, cgroup or sysctl change behind, and that a component that fails
// is named with its log. Each test starts a sandbox of its own with the
// machine's one real node, so they cannot run while another sandbox holds
// it: scripts/test runs them, with -tags lifecycle, after it has stopped
// the sandbox the other tests share.
package lifecycle
