package rollouttest

import (
	"bufio"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/fxplatform/deploy-actions/pkg/verify"
)

// timeline records, while a probe runs, what changed in the test's
// namespace: each pod's creation, readiness, deletion and end with its IP,
// and every EndpointSlice with its endpoints' conditions, at the time the
// change was seen. When a probe request fails, CheckProbe prints the part
// around the failure with kube-proxy's syncs and the kubelet's kills from
// the sandbox's logs: the evidence of where the request could have gone.
type timeline struct {
	logDir string
	// dest is the host the probe sends to (a ClusterIP, or the Gateway's
	// address): its connection-tracking entries are logged on a failure.
	dest   string
	mu     sync.Mutex
	events []timelineEvent
	stop   chan struct{}
}

type timelineEvent struct {
	at   time.Time
	text string
}

var (
	timelinesMu sync.Mutex
	timelines   = map[*verify.Monitor]*timeline{}
)

// record starts a timeline of c's namespace for m; it stops when t ends.
func record(t testing.TB, c Cluster, m *verify.Monitor, probeURL string) {
	tl := &timeline{logDir: c.LogDir, stop: make(chan struct{})}
	if u, err := url.Parse(probeURL); err == nil {
		tl.dest = u.Hostname()
	}
	f := informers.NewSharedInformerFactoryWithOptions(c.Client, 0, informers.WithNamespace(c.Namespace))
	f.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) { tl.pod(nil, o.(*corev1.Pod)) },
		UpdateFunc: func(o, n any) {
			tl.pod(o.(*corev1.Pod), n.(*corev1.Pod))
		},
		DeleteFunc: func(o any) {
			if p, ok := o.(*corev1.Pod); ok {
				tl.add("pod %s (%s) gone", p.Name, p.Status.PodIP)
			}
		},
	})
	f.Discovery().V1().EndpointSlices().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { tl.slice(o.(*discoveryv1.EndpointSlice)) },
		UpdateFunc: func(_, n any) { tl.slice(n.(*discoveryv1.EndpointSlice)) },
	})
	f.Start(tl.stop)
	timelinesMu.Lock()
	timelines[m] = tl
	timelinesMu.Unlock()
	t.Cleanup(func() {
		close(tl.stop)
		f.Shutdown()
		timelinesMu.Lock()
		delete(timelines, m)
		timelinesMu.Unlock()
	})
}

func (tl *timeline) add(format string, args ...any) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.events = append(tl.events, timelineEvent{time.Now(), fmt.Sprintf(format, args...)})
}

func (tl *timeline) pod(old, p *corev1.Pod) {
	switch {
	case old == nil:
		tl.add("pod %s created (%s)", p.Name, p.Status.PodIP)
	case old.Status.PodIP != p.Status.PodIP:
		tl.add("pod %s has IP %s", p.Name, p.Status.PodIP)
	}
	if old != nil && old.DeletionTimestamp == nil && p.DeletionTimestamp != nil {
		tl.add("pod %s (%s) deleting", p.Name, p.Status.PodIP)
	}
	if old == nil || podReady(old) != podReady(p) {
		tl.add("pod %s (%s) ready=%v phase=%s", p.Name, p.Status.PodIP, podReady(p), p.Status.Phase)
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (tl *timeline) slice(s *discoveryv1.EndpointSlice) {
	var b strings.Builder
	for _, e := range s.Endpoints {
		flag := func(p *bool, c string) string {
			if p != nil && *p {
				return c
			}
			return "-"
		}
		c := e.Conditions
		fmt.Fprintf(&b, " %s[%s%s%s]", strings.Join(e.Addresses, ","), flag(c.Ready, "R"), flag(c.Serving, "S"), flag(c.Terminating, "T"))
	}
	tl.add("slice %s:%s", s.Name, b.String())
}

// around returns the timeline from before to after, with kube-proxy's
// syncs and the kubelet's container kills of the sandbox's logs.
func (tl *timeline) around(from, to time.Time) []string {
	type line struct {
		at   time.Time
		text string
	}
	var lines []line
	tl.mu.Lock()
	for _, e := range tl.events {
		if !e.at.Before(from) && !e.at.After(to) {
			lines = append(lines, line{e.at, e.text})
		}
	}
	tl.mu.Unlock()
	for name, keep := range map[string]func(string) bool{
		"kube-proxy.log": func(s string) bool { return strings.Contains(s, "SyncProxyRules complete") },
		"kubelet.log": func(s string) bool {
			return strings.Contains(s, "Killing container") || strings.Contains(s, "PreStop") || strings.Contains(s, "StopPodSandbox")
		},
	} {
		for _, l := range klogLines(filepath.Join(tl.logDir, name), from, to, keep) {
			lines = append(lines, line{l.at, strings.TrimSuffix(name, ".log") + ": " + l.text})
		}
	}
	// Stable: the events are in order, and so are each log's lines.
	slices.SortStableFunc(lines, func(a, b line) int { return a.at.Compare(b.at) })
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.at.UTC().Format("15:04:05.000") + " " + l.text
	}
	return out
}

// klogLines reads the lines of a klog file (I1201 06:25:31.632925 ...)
// between from and to that keep accepts, at most 200.
func klogLines(path string, from, to time.Time, keep func(string) bool) []timelineEvent {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []timelineEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() && len(out) < 200 {
		s := sc.Text()
		if len(s) < 21 || !keep(s) {
			continue
		}
		at, err := time.ParseInLocation("0102 15:04:05.000000", s[1:21], time.UTC)
		if err != nil {
			continue
		}
		y := from.UTC()
		at = at.AddDate(y.Year(), 0, 0)
		if at.Before(from) || at.After(to) {
			continue
		}
		out = append(out, timelineEvent{at, strings.TrimSpace(s[21:])})
	}
	return out
}

// logTimeline logs the timeline around the first failure of each kind
// (connection refused, host unreachable, ...).
func logTimeline(t testing.TB, m *verify.Monitor) {
	t.Helper()
	timelinesMu.Lock()
	tl := timelines[m]
	timelinesMu.Unlock()
	if tl == nil {
		return
	}
	shown := map[string]bool{}
	for _, s := range m.Samples() {
		if s.OK() || shown[s.Err] {
			continue
		}
		shown[s.Err] = true
		from, to := s.At.Add(-15*time.Second), s.At.Add(s.Latency+2*time.Second)
		t.Logf("around the failure sent at %s, after %s (%s):\n  %s", s.At.UTC().Format("15:04:05.000"), s.Latency.Round(time.Millisecond), s.Err,
			strings.Join(tl.around(from, to), "\n  "))
	}
	if len(shown) > 0 {
		t.Logf("connection tracking to %s now, by state and the address it was translated to: %s", tl.dest, conntrackTo(tl.dest))
	}
}

// conntrackTo counts the kernel's connection-tracking entries whose
// original destination is dest, by state and by the address the reply
// comes from (the pod a ClusterIP was translated to). An entry for a pod
// that is gone, SYN_SENT and unreplied, would send a new connection of the
// same ports there. "" when the table cannot be read.
func conntrackTo(dest string) string {
	if dest == "" {
		return ""
	}
	f, err := os.Open("/proc/net/nf_conntrack")
	if err != nil {
		return fmt.Sprintf("(unreadable: %v)", err)
	}
	defer f.Close()
	counts := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		var state, origDst, replySrc string
		srcs, dsts := 0, 0
		for i, fl := range fields {
			switch {
			case i == 5 && !strings.Contains(fl, "="):
				state = fl
			case strings.HasPrefix(fl, "src="):
				if srcs++; srcs == 2 {
					replySrc = strings.TrimPrefix(fl, "src=")
				}
			case strings.HasPrefix(fl, "dst="):
				if dsts++; dsts == 1 {
					origDst = strings.TrimPrefix(fl, "dst=")
				}
			}
		}
		if origDst == dest {
			counts[state+" -> "+replySrc]++
		}
	}
	keys := slices.Sorted(maps.Keys(counts))
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%s ×%d", k, counts[k])
	}
	return strings.Join(out, ", ")
}
