package helm

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	hkube "helm.sh/helm/v4/pkg/kube"
	kubefake "helm.sh/helm/v4/pkg/kube/fake"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"
)

const testChart = "../../testdata/charts/fx-platform"

// scriptedKube is Helm's printing fake kube client whose waits return the
// scripted results in turn (nil once the script is used up). A wait
// scripted as errBlock blocks until release is closed, then fails as an
// interrupted wait does.
type scriptedKube struct {
	kubefake.PrintingKubeClient
	mu      sync.Mutex
	waits   []error
	waited  int
	started chan struct{}
	release chan struct{}
}

var errBlock = errors.New("block")

func (k *scriptedKube) GetWaiter(ws hkube.WaitStrategy) (hkube.Waiter, error) {
	return k.GetWaiterWithOptions(ws)
}

func (k *scriptedKube) GetWaiterWithOptions(ws hkube.WaitStrategy, _ ...hkube.WaitOption) (hkube.Waiter, error) {
	if ws != hkube.StatusWatcherStrategy {
		return &scriptedWaiter{k: k, none: true}, nil
	}
	return &scriptedWaiter{k: k}, nil
}

type scriptedWaiter struct {
	k    *scriptedKube
	none bool
}

func (w *scriptedWaiter) Wait(hkube.ResourceList, time.Duration) error {
	if w.none {
		return nil
	}
	w.k.mu.Lock()
	var err error
	if w.k.waited < len(w.k.waits) {
		err = w.k.waits[w.k.waited]
	}
	w.k.waited++
	w.k.mu.Unlock()
	if err == errBlock {
		close(w.k.started)
		<-w.k.release
		return context.Canceled
	}
	return err
}
func (w *scriptedWaiter) WaitWithJobs(r hkube.ResourceList, d time.Duration) error {
	return w.Wait(r, d)
}
func (w *scriptedWaiter) WaitForDelete(hkube.ResourceList, time.Duration) error   { return nil }
func (w *scriptedWaiter) WatchUntilReady(hkube.ResourceList, time.Duration) error { return nil }

func newTestClient(t *testing.T, waits ...error) (*Client, *scriptedKube) {
	t.Helper()
	k := &scriptedKube{PrintingKubeClient: kubefake.PrintingKubeClient{Out: io.Discard}, waits: waits,
		started: make(chan struct{}), release: make(chan struct{})}
	cfg := action.NewConfiguration()
	cfg.Releases = storage.Init(driver.NewMemory())
	cfg.KubeClient = k
	cfg.Capabilities = common.DefaultCapabilities
	c, err := NewWithConfiguration(cfg, "default")
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(testChart)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func request(t *testing.T, digest string) Request {
	vals, err := Values{Image: &Image{Repository: "127.0.0.1:5000/fx-platform", Digest: digest}}.Merge()
	if err != nil {
		t.Fatal(err)
	}
	return Request{Release: "fx", Chart: loadChart(t), Values: vals, Wait: true, Timeout: time.Minute, RollbackOnFailure: true, MaxHistory: 10}
}

const (
	digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// history renders a release's history as "1:superseded 2:deployed".
func history(t *testing.T, c *Client, name string) string {
	t.Helper()
	hs, err := c.History(name)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, h := range hs {
		parts = append(parts, strconv.Itoa(h.Version)+":"+h.Info.Status.String())
	}
	return strings.Join(parts, " ")
}

func TestDeploy(t *testing.T) {
	errNotReady := errors.New("resource Deployment/default/fx not ready. status: Failed, message: Progress deadline exceeded")
	tests := []struct {
		name        string
		waits       []error // scripted results of the watcher waits, in order
		deploys     []string
		noRollback  bool
		wantErr     bool
		wantHistory string
		wantStatus  string
		wantRev     int
		wantRolled  int
		wantUninst  bool
	}{
		{name: "install", deploys: []string{digestA}, wantHistory: "1:deployed", wantStatus: "deployed", wantRev: 1},
		{name: "upgrade", deploys: []string{digestA, digestB}, wantHistory: "1:superseded 2:deployed", wantStatus: "deployed", wantRev: 2},
		{name: "failed upgrade rolls back", waits: []error{nil, errNotReady}, deploys: []string{digestA, digestB}, wantErr: true,
			wantHistory: "1:superseded 2:failed 3:deployed", wantStatus: "failed", wantRev: 2, wantRolled: 1},
		{name: "failed upgrade without rollback", waits: []error{nil, errNotReady}, deploys: []string{digestA, digestB}, noRollback: true, wantErr: true,
			wantHistory: "1:deployed 2:failed", wantStatus: "failed", wantRev: 2},
		{name: "failed install is uninstalled", waits: []error{errNotReady}, deploys: []string{digestA}, wantErr: true,
			wantHistory: "", wantStatus: "failed", wantRev: 1, wantUninst: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newTestClient(t, tc.waits...)
			var res *Result
			var err error
			for _, d := range tc.deploys {
				req := request(t, d)
				req.RollbackOnFailure = !tc.noRollback
				res, err = c.Deploy(context.Background(), req)
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("Deploy() error = %v, want error %v", err, tc.wantErr)
			}
			if got := history(t, c, "fx"); got != tc.wantHistory {
				t.Errorf("history = %q, want %q", got, tc.wantHistory)
			}
			if res.Status != tc.wantStatus || res.Revision != tc.wantRev {
				t.Errorf("result status, revision = %q, %d; want %q, %d", res.Status, res.Revision, tc.wantStatus, tc.wantRev)
			}
			if res.RolledBackTo != tc.wantRolled || res.Uninstalled != tc.wantUninst {
				t.Errorf("rolled back to %d, uninstalled %v; want %d, %v", res.RolledBackTo, res.Uninstalled, tc.wantRolled, tc.wantUninst)
			}
			if !strings.Contains(res.Manifest, "127.0.0.1:5000/fx-platform@"+tc.deploys[len(tc.deploys)-1]) {
				t.Errorf("manifest does not pin the image by digest:\n%s", res.Manifest)
			}
		})
	}
}

func TestDeployDiff(t *testing.T) {
	c, _ := newTestClient(t)
	first, err := c.Deploy(context.Background(), request(t, digestA))
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Changes) != 6 || first.Changes[0].Change != Added {
		t.Errorf("install changes = %+v, want 6 added resources", first.Changes)
	}
	req := request(t, digestB)
	req.Values["config"] = map[string]any{"apiKey": "s3cr3t-value"}
	res, err := c.Deploy(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ch := range res.Changes {
		got = append(got, ch.Change+" "+ch.Kind+" "+ch.Name)
		if strings.Contains(ch.Diff, "s3cr3t") || strings.Contains(ch.Diff, "czNjcjN0") {
			t.Errorf("diff of %s %s shows the secret:\n%s", ch.Kind, ch.Name, ch.Diff)
		}
	}
	want := "changed Deployment fx,changed Secret fx-config"
	if strings.Join(got, ",") != want {
		t.Errorf("changes = %q, want %q", strings.Join(got, ","), want)
	}
	if res.PreviousRevision != 1 || res.ManifestDigest() != ManifestDigest(res.Manifest) || !strings.HasPrefix(res.ManifestDigest(), "sha256:") {
		t.Errorf("previous revision %d, manifest digest %q", res.PreviousRevision, res.ManifestDigest())
	}
}

func TestDeployInterrupted(t *testing.T) {
	c, k := newTestClient(t, nil, errBlock)
	if _, err := c.Deploy(context.Background(), request(t, digestA)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-k.started
		cancel()
		close(k.release)
	}()
	res, err := c.Deploy(ctx, request(t, digestB))
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Deploy() error = %v, want ErrInterrupted", err)
	}
	if !res.Interrupted || res.RolledBackTo != 1 || res.RollbackRevision != 3 {
		t.Errorf("result = interrupted %v, rolled back to %d as %d; want true, 1, 3", res.Interrupted, res.RolledBackTo, res.RollbackRevision)
	}
	if got, want := history(t, c, "fx"), "1:superseded 2:failed 3:deployed"; got != want {
		t.Errorf("history = %q, want %q", got, want)
	}
}

// stick stores a pending revision as a killed run leaves it.
func stick(t *testing.T, c *Client, version int, st rcommon.Status, manifest string) {
	t.Helper()
	rel := &release.Release{Name: "fx", Namespace: "default", Version: version, Chart: loadChart(t), Manifest: manifest,
		Info: &release.Info{Status: st}}
	if err := c.cfg.Releases.Create(rel); err != nil {
		t.Fatal(err)
	}
}

func TestRecover(t *testing.T) {
	tests := []struct {
		name        string
		setup       func(t *testing.T, c *Client)
		want        string // Recovery.String(), "" for nil
		wantHistory string
	}{
		{name: "absent release", setup: func(*testing.T, *Client) {}, want: "", wantHistory: ""},
		{name: "deployed release is left alone", setup: func(t *testing.T, c *Client) {
			if _, err := c.Deploy(context.Background(), request(t, digestA)); err != nil {
				t.Fatal(err)
			}
		}, want: "", wantHistory: "1:deployed"},
		{name: "pending upgrade is rolled back", setup: func(t *testing.T, c *Client) {
			res, err := c.Deploy(context.Background(), request(t, digestA))
			if err != nil {
				t.Fatal(err)
			}
			stick(t, c, 2, rcommon.StatusPendingUpgrade, res.Manifest)
		}, want: "revision 2 was pending-upgrade: marked it failed and rolled back to revision 1 (now revision 3)",
			wantHistory: "1:superseded 2:failed 3:deployed"},
		{name: "pending rollback is rolled back", setup: func(t *testing.T, c *Client) {
			res, err := c.Deploy(context.Background(), request(t, digestA))
			if err != nil {
				t.Fatal(err)
			}
			stick(t, c, 2, rcommon.StatusPendingRollback, res.Manifest)
		}, want: "revision 2 was pending-rollback: marked it failed and rolled back to revision 1 (now revision 3)",
			wantHistory: "1:superseded 2:failed 3:deployed"},
		{name: "pending install is uninstalled", setup: func(t *testing.T, c *Client) {
			stick(t, c, 1, rcommon.StatusPendingInstall, "")
		}, want: "revision 1 was pending-install and the release had never been deployed: uninstalled it", wantHistory: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newTestClient(t)
			tc.setup(t, c)
			rec, err := c.Recover(context.Background(), "fx", UndoOptions{Wait: true, Timeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if rec != nil {
				got = rec.String()
			}
			if got != tc.want {
				t.Errorf("Recover() = %q, want %q", got, tc.want)
			}
			if h := history(t, c, "fx"); h != tc.wantHistory {
				t.Errorf("history = %q, want %q", h, tc.wantHistory)
			}
		})
	}
}

func TestDeployRecoversFirst(t *testing.T) {
	c, _ := newTestClient(t)
	res, err := c.Deploy(context.Background(), request(t, digestA))
	if err != nil {
		t.Fatal(err)
	}
	stick(t, c, 2, rcommon.StatusPendingUpgrade, res.Manifest)
	res, err = c.Deploy(context.Background(), request(t, digestB))
	if err != nil {
		t.Fatal(err)
	}
	if res.Recovery == nil || res.Recovery.StuckRevision != 2 || res.Revision != 4 {
		t.Errorf("recovery %+v, revision %d; want stuck revision 2 recovered and revision 4", res.Recovery, res.Revision)
	}
	if got, want := history(t, c, "fx"), "1:superseded 2:failed 3:superseded 4:deployed"; got != want {
		t.Errorf("history = %q, want %q", got, want)
	}
}

// TestDeployRecoversForward: with Forward, a revision left pending is
// marked failed and the upgrade goes on from there, with no rollback
// revision in between (which would first put the old objects back).
func TestDeployRecoversForward(t *testing.T) {
	c, _ := newTestClient(t)
	res, err := c.Deploy(context.Background(), request(t, digestA))
	if err != nil {
		t.Fatal(err)
	}
	stick(t, c, 2, rcommon.StatusPendingUpgrade, res.Manifest)
	req := request(t, digestB)
	req.Forward = true
	res, err = c.Deploy(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Recovery != nil || res.Revision != 3 {
		t.Errorf("recovery %+v, revision %d; want no rollback and revision 3", res.Recovery, res.Revision)
	}
	if got, want := history(t, c, "fx"), "1:superseded 2:failed 3:deployed"; got != want {
		t.Errorf("history = %q, want %q", got, want)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	c, _ := newTestClient(t)
	if _, err := c.Deploy(context.Background(), request(t, digestA)); err != nil {
		t.Fatal(err)
	}
	req := request(t, digestB)
	req.DryRun = true
	res, err := c.Deploy(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 1 || res.Changes[0].Kind != "Deployment" || !strings.Contains(res.Changes[0].Diff, digestB) {
		t.Errorf("dry-run changes = %+v, want the Deployment's image", res.Changes)
	}
	if got := history(t, c, "fx"); got != "1:deployed" {
		t.Errorf("history after dry run = %q, want 1:deployed", got)
	}
}
