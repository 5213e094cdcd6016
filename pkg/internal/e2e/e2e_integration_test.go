//go:build integration

// Package e2e runs the suite as users consume it: the example caller
// workflows in testdata/e2e/workflows, calling this repository's reusable
// workflows (.github/workflows/release-pipeline.yml and rollback.yml), which
// call the composite actions (actions/<name>), which build their binaries
// from source through scripts/run-action. nektos/act runs them on this host
// against the sandbox. The tests assert on what the pipeline leaves behind:
// the registry, the cluster, the jobs' results and the step summaries.
package e2e

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fxplatform/deploy-actions/pkg/helm"
	"github.com/fxplatform/deploy-actions/pkg/image"
	"github.com/fxplatform/deploy-actions/pkg/internal/sandbox"
	"github.com/fxplatform/deploy-actions/pkg/kube"
	"github.com/fxplatform/deploy-actions/pkg/rollout"
	"github.com/fxplatform/deploy-actions/pkg/rollout/rollouttest"
	"github.com/fxplatform/deploy-actions/pkg/sampleapp"
	"github.com/fxplatform/deploy-actions/pkg/sign"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// actVersion is the pinned nektos/act, built from the module proxy.
const actVersion = "v0.2.89"

func TestMain(m *testing.M) { os.Exit(sandbox.Main(m)) }

// e2eProbeRate is the rate of the test's own probe of production, the
// rollout tests' rate. (It was 50 while one request in about 12,000 failed
// with "host unreachable" after 3 s now and then: a SYN that matched the
// stale connection-tracking entry of an earlier, untranslated SYN to the
// same ClusterIP from the same source port. The sandbox now refuses
// untranslated packets to the Service CIDR, which leaves no such entry.)
const e2eProbeRate = rollouttest.ProbeRate

// TestReleasePipelineAndRollback pushes the tag v1.1.0 through the whole
// pipeline, presses the rollback button, then pushes v1.2.0, a release 700
// ms slower, whose production verify fails, so the pipeline rolls
// production back by itself. Staging and production run on the sandbox's
// real node; verify, and promote's and rollback's availability probes,
// send their requests through the Services' ClusterIPs, and a probe of the
// test's own watches the live Service across each run.
func TestReleasePipelineAndRollback(t *testing.T) {
	s := sandbox.Get(t)
	client, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, s)

	// Production as it stands: the previous release, installed from the
	// chart with production's values as promote's first release does it:
	// fx-platform-blue live behind fx-platform-service.
	v1 := w.pushPreviousRelease(t)
	h := w.installProduction(t, v1)
	prod := &rollouttest.Real{Cluster: rollouttest.Cluster{Client: client, Kubeconfig: s.Kubeconfig, Namespace: w.production, PrometheusURL: s.PrometheusURL},
		URL: "http://" + clusterIP(t, client, w.production) + sampleapp.PathStrategy}
	prod.WaitServing(t, "v1.0.0")
	w.productionURL = strings.TrimSuffix(prod.URL, sampleapp.PathStrategy)
	probe := prod.ProbeAtRate(t, e2eProbeRate)

	// --- the tag push: build, scan, sign, staging, production -----------------
	run := w.run(t, "push", pushEvent("v1.1.0"), "release.yml")
	if run.err != nil {
		t.Fatalf("the release pipeline failed: %v\n%s", run.err, run.tail())
	}
	for _, job := range []string{"build", "scan-and-sign", "staging", "team-tests", "production"} {
		if got := run.results[job]; got != "success" {
			t.Errorf("job %s: %q, want success", job, got)
		}
	}
	rollouttest.Settle(t, probe, "v1.1.0")
	rollouttest.CheckProbe(t, "the live Service during the release of v1.1.0", probe, "v1.0.0", "v1.1.0")
	if _, ran := run.results["rollback"]; ran {
		t.Errorf("the rollback job ran after a good release")
	}

	// The registry: the tags computed from v1.1.0, the signature and the
	// attestations, all on one digest.
	digest := w.digestOf(t, "1.1.0")
	for _, tag := range []string{"1.1", "1", "latest"} {
		if got := w.digestOf(t, tag); got != digest {
			t.Errorf("tag %s: %s, want %s", tag, got, digest)
		}
	}
	hex := strings.TrimPrefix(digest, "sha256:")
	tags := w.tags(t)
	for _, want := range []string{"sha256-" + hex + ".sig", "sha256-" + hex + ".att"} {
		if !slices.Contains(tags, want) {
			t.Errorf("registry has no %s; tags %v", want, tags)
		}
	}
	released := w.repository + "@" + digest

	// Staging's verify recorded its result on the digest, signed with the
	// pipeline's key, and production's gate required it: the gate takes
	// the record for staging, and finds none for production, whose verify
	// records nothing.
	for env, want := range map[string]error{"staging": nil, "production": sign.ErrAttestationMissing} {
		if err := w.verificationGate(t, released, env); !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("the gate on %s's verification record of %s: %v, want %v", env, released, err, want)
		}
	}

	// The cluster: staging runs the digest through Helm, production's live
	// colour is green and runs it too.
	ctx := context.Background()
	staging, err := client.AppsV1().Deployments(w.staging).Get(ctx, "fx-platform-staging", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("staging: %v", err)
	}
	if got := staging.Spec.Template.Spec.Containers[0].Image; got != released {
		t.Errorf("staging runs %s, want %s", got, released)
	}
	if got := liveColour(t, client, w.production); got != "green" {
		t.Errorf("production's live colour is %q, want green", got)
	}
	if got := imageOf(t, client, w.production, "fx-platform-green"); got != released {
		t.Errorf("fx-platform-green runs %s, want %s", got, released)
	}
	// The image is the Dockerfile's production stage, on the team's base.
	w.checkDockerfileImage(t, released)
	// The expand migration ran before staging's deploy and production's
	// promote, each in its environment's database.
	for env, db := range map[string]sandbox.Database{"staging": w.stagingDB, "production": w.productionDB} {
		if got := rollouttest.StrategyColumns(t, db.URL); got != "id,name,pair,signal" {
			t.Errorf("%s's strategies columns: %s, want signal added by the release's migration", env, got)
		}
	}
	// Green was rendered from the chart, as its own Helm release, with
	// production's values.
	if got := lastRelease(t, h, "fx-platform-green"); got.digest != digest || got.revisions != 1 || got.env != "production" || got.status != "deployed" {
		t.Errorf("release fx-platform-green: %+v; want revision 1, deployed, %s, APP_ENVIRONMENT production", got, digest)
	}
	if got := lastRelease(t, h, "fx-platform"); got.part != "shared" {
		t.Errorf("release fx-platform renders part %q, want shared", got.part)
	}

	// The step summaries, one per stage, each about this release.
	for _, want := range []struct{ job, action, contains string }{
		{"build", "build-push", digest},
		{"staging", "migrate", "### migrate: migrated"},
		{"production", "migrate", "### migrate: migrated"},
		{"scan-and-sign", "scan", "### scan: "},
		{"scan-and-sign", "sign", hex},
		{"staging", "deploy", "### deploy: fx-platform-staging"},
		{"staging", "verify", "## ✅ verify passed"},
		{"production", "promote", "### promote: promoted"},
		{"production", "promote", "| Failed requests | 0 | 0 | ✅ |"},
		{"production", "promote", "| `v1.1.0` |"},
		{"production", "verify", "## ✅ verify passed"},
	} {
		got := run.summary(want.job, want.action)
		if !strings.Contains(got, want.contains) {
			t.Errorf("%s/%s summary does not contain %q:\n%s", want.job, want.action, want.contains, got)
		}
	}

	// --- the rollback button ----------------------------------------------------
	probe = prod.ProbeAtRate(t, e2eProbeRate)
	run = w.run(t, "workflow_dispatch", `{"inputs": {"reason": "e2e: the rollback button", "to": "previous"}}`, "rollback.yml")
	if run.err != nil {
		t.Fatalf("the rollback workflow failed: %v\n%s", run.err, run.tail())
	}
	rollouttest.Settle(t, probe, "v1.0.0")
	rollouttest.CheckProbe(t, "the live Service during the rollback button", probe, "v1.0.0", "v1.1.0")
	if got := liveColour(t, client, w.production); got != "blue" {
		t.Errorf("after the rollback button the live colour is %q, want blue", got)
	}
	if got := run.summary("rollback", "rollback"); !strings.Contains(got, "| live colour | blue |") || !strings.Contains(got, "e2e: the rollback button") ||
		!strings.Contains(got, "### rollback down migration (after-switch): migrated") {
		t.Errorf("rollback summary:\n%s", got)
	}
	// The down migration, after the switch: v1.0.0 never read the column.
	if got := rollouttest.StrategyColumns(t, w.productionDB.URL); got != "id,name,pair" {
		t.Errorf("production's strategies columns after the rollback button: %s, want signal dropped", got)
	}

	// --- the same button, asking for the rollout's status -----------------------
	run = w.run(t, "workflow_dispatch", `{"inputs": {"command": "status", "reason": "e2e: status"}}`, "rollback.yml")
	if run.err != nil {
		t.Fatalf("the status command failed: %v\n%s", run.err, run.tail())
	}
	if got := run.results["control"]; got != "success" {
		t.Errorf("job control: %q, want success", got)
	}
	if _, ran := run.results["rollback"]; ran {
		t.Errorf("a status command ran the rollback job")
	}
	if got := run.summary("control", "control"); !strings.Contains(got, "### control: status") || !strings.Contains(got, "| phase | rolled-back |") || !strings.Contains(got, "| live colour | blue |") {
		t.Errorf("control summary:\n%s", got)
	}

	// --- a release whose production verify fails ---------------------------------
	// v1.2.0 answers 700 ms late under production's configuration only (a
	// defect staging cannot show): staging passes; in production no request
	// fails, so promote's probe lets it through, but production verify's p95
	// (500 ms at most) fails, and the rollback job restores blue.
	w.appFault = "LATENCY=700ms\nFAULT_ENVIRONMENT=production"
	probe = prod.ProbeAtRate(t, e2eProbeRate)
	run = w.run(t, "push", pushEvent("v1.2.0"), "release.yml")
	if run.err == nil {
		t.Fatalf("the pipeline passed although production verify must fail\n%s", run.tail())
	}
	if got := run.results["production"]; got != "failure" {
		t.Errorf("job production: %q, want failure", got)
	}
	if got := run.results["rollback"]; got != "success" {
		t.Fatalf("job rollback: %q, want success\n%s", got, run.tail())
	}
	if got := run.summary("production", "verify"); !strings.Contains(got, "## ❌ verify failed") {
		t.Errorf("production verify summary:\n%s", got)
	}
	if got := liveColour(t, client, w.production); got != "blue" {
		t.Errorf("after the automatic rollback the live colour is %q, want blue", got)
	}
	if got := imageOf(t, client, w.production, "fx-platform-blue"); got != v1 {
		t.Errorf("fx-platform-blue runs %s, want the previous release %s", got, v1)
	}
	if got, want := lastRelease(t, h, "fx-platform-green"), w.digestOf(t, "1.2.0"); got.digest != want || got.revisions != 2 {
		t.Errorf("release fx-platform-green: %+v; want its revision 2 with v1.2.0 (%s), left without traffic", got, want)
	}
	if got := lastRelease(t, h, "fx-platform-blue"); got.revisions != 1 {
		t.Errorf("release fx-platform-blue has %d revisions, want 1: the rollbacks switch to it as it was rendered", got.revisions)
	}
	if got := rollouttest.StrategyColumns(t, w.productionDB.URL); got != "id,name,pair" {
		t.Errorf("production's strategies columns after the automatic rollback: %s, want its down migration run", got)
	}
	rollouttest.Settle(t, probe, "v1.0.0")
	rollouttest.CheckProbe(t, "the live Service during the release of v1.2.0 and its automatic rollback", probe, "v1.0.0", "v1.2.0")

	// --- a release whose staging tests fail ---------------------------------------
	// The team's staging tests find a defect in v1.3.0: the release stops
	// before production, whose colours, releases and database stay as they
	// were.
	w.appFault = ""
	writeFile(t, filepath.Join(w.repo, "ci", "staging-tests.sh"), []byte(failingStagingTests))
	git(t, w.repo, "-c", "user.name=e2e", "-c", "user.email=e2e@example.com", "commit", "-q", "-am", "staging tests that fail")
	greenRevisions := lastRelease(t, h, "fx-platform-green").revisions
	probe = prod.ProbeAtRate(t, e2eProbeRate)
	run = w.run(t, "push", pushEvent("v1.3.0"), "release.yml")
	if run.err == nil {
		t.Fatalf("the pipeline passed although its staging tests fail\n%s", run.tail())
	}
	if got := run.results["staging"]; got != "success" {
		t.Errorf("job staging: %q, want success", got)
	}
	if got := run.results["team-tests"]; got != "failure" {
		t.Errorf("job team-tests: %q, want failure", got)
	}
	if got := run.results["production"]; got == "success" || got == "failure" {
		t.Errorf("job production ran (%q) after failing staging tests", got)
	}
	if !strings.Contains(strings.Join(run.log, "\n"), "EURUSD mispriced by 3 pips") {
		t.Errorf("the staging tests' output is not in the log:\n%s", run.tail())
	}
	if got := liveColour(t, client, w.production); got != "blue" {
		t.Errorf("after failing staging tests the live colour is %q, want blue", got)
	}
	if got := lastRelease(t, h, "fx-platform-green").revisions; got != greenRevisions {
		t.Errorf("release fx-platform-green has %d revisions, want %d: production was touched", got, greenRevisions)
	}
	if got := rollouttest.StrategyColumns(t, w.productionDB.URL); got != "id,name,pair" {
		t.Errorf("production's strategies columns after a release stopped in staging: %s", got)
	}
	rollouttest.Settle(t, probe, "v1.0.0")
	rollouttest.CheckProbe(t, "the live Service during the release of v1.3.0, stopped by its staging tests", probe, "v1.0.0")
}

// checkDockerfileImage checks that ref is the caller's Dockerfile's
// production stage: its user and entrypoint, the base's file, not the debug
// stage's.
func (w *world) checkDockerfileImage(t *testing.T, ref string) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, w.remoteOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != "65532:65532" || !slices.Equal(cfg.Config.Entrypoint, []string{"/app/sample-app"}) || !slices.Contains(cfg.Config.Env, "SCHEMA_VERSION=2") {
		t.Errorf("image config: user %q, entrypoint %q, env %q; want the Dockerfile's production stage with the release's env", cfg.Config.User, cfg.Config.Entrypoint, cfg.Config.Env)
	}
	files := map[string]bool{}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		files[strings.TrimPrefix(h.Name, "./")] = true
	}
	if !files["etc/fx-base-release"] || !files["app/sample-app"] || files["debug/staging-tests.sh"] {
		t.Errorf("image files: base %v, app %v, debug stage %v; want the base's and the app, not the debug stage", files["etc/fx-base-release"], files["app/sample-app"], files["debug/staging-tests.sh"])
	}
}

// world is one caller repository and what its workflows are given.
type world struct {
	root       string // this repository
	repo       string // the caller's repository
	act        string // the act binary
	s          *sandbox.Sandbox
	repository string // the image repository
	staging    string // namespaces
	production string
	// URLs verify probes: the staging and live production Services'
	// ClusterIPs. Staging's is chosen before Helm makes the Service.
	stagingURL, productionURL string
	stagingIP                 string
	keyFile, pubFile          string
	// appFault is added to the image's environment by the next build (a
	// release that ships a fault).
	appFault string
	// The databases of staging and production, and the base image the
	// caller's Dockerfile builds on, in the sandbox's registry.
	stagingDB, productionDB sandbox.Database
	baseImage               string
}

func newWorld(t *testing.T, s *sandbox.Sandbox) *world {
	t.Helper()
	root, err := sandbox.FindRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	w := &world{
		root:       root,
		repo:       filepath.Join(t.TempDir(), "fx-platform"),
		s:          s,
		repository: fmt.Sprintf("%s/acme/fx-platform-%s", s.Registry, randomSuffix(t)),
		staging:    s.Namespace(t),
		production: s.Namespace(t),
	}
	w.stagingIP = freeClusterIP(t, s)
	w.stagingURL = "http://" + w.stagingIP
	w.keyFile, w.pubFile = signingKey(t)
	// Both databases at the schema the release before this one (v1.0.0)
	// reads.
	w.stagingDB, w.productionDB = sandbox.TestDatabase(t), sandbox.TestDatabase(t)
	for _, db := range []sandbox.Database{w.stagingDB, w.productionDB} {
		if _, _, err := sampleapp.Migrate(db.URL, "goto 1", nil); err != nil {
			t.Fatal(err)
		}
	}
	w.baseImage = w.pushBaseImage(t)
	w.makeRepo(t)
	w.act = actBinary(t)
	return w
}

// makeRepo lays out the caller's repository as a service team would: the
// app (built for Linux), its chart, OSV data, and the two caller workflows
// pinned to the commit under test.
func (w *world) makeRepo(t *testing.T) {
	t.Helper()
	head := git(t, w.root, "rev-parse", "HEAD")
	for _, name := range []string{"release.yml", "rollback.yml"} {
		b, err := os.ReadFile(filepath.Join(w.root, "testdata/e2e/workflows", name))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(w.repo, ".github/workflows", name), bytes.ReplaceAll(b, []byte("DEPLOY_ACTIONS_SHA"), []byte(head)))
	}
	copyDir(t, filepath.Join(w.root, "testdata/charts/fx-platform"), filepath.Join(w.repo, "chart"))
	b, err := os.ReadFile(filepath.Join(w.root, "testdata/demo/real-node-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(w.repo, "deploy", "staging.yaml"), b)
	if b, err = os.ReadFile(filepath.Join(w.root, "testdata/demo/production-values.yaml")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(w.repo, "deploy", "production.yaml"), b)
	copyDir(t, filepath.Join(w.root, "testdata/scan/osv"), filepath.Join(w.repo, "osv"))
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(w.repo, "app", "sample-app"), "./testdata/sample-app")
	build.Dir = w.root
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the sample app: %v\n%s", err, out)
	}
	writeFile(t, filepath.Join(w.repo, "Dockerfile"), []byte(callerDockerfile))
	writeFile(t, filepath.Join(w.repo, "osv-scanner.toml"), []byte(scanIgnores))
	writeFile(t, filepath.Join(w.repo, "ci", "staging-tests.sh"), []byte(stagingTests))
	writeFile(t, filepath.Join(w.repo, "ci", "performance-tests.sh"), []byte(performanceTests))
	for _, f := range []string{"staging-tests.sh", "performance-tests.sh"} {
		if err := os.Chmod(filepath.Join(w.repo, "ci", f), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	git(t, w.repo, "init", "-q", "-b", "main")
	git(t, w.repo, "add", ".")
	git(t, w.repo, "-c", "user.name=e2e", "-c", "user.email=e2e@example.com", "commit", "-q", "-m", "fx-platform")
	git(t, w.repo, "remote", "add", "origin", "https://github.com/acme/fx-platform.git")
}

// pushPreviousRelease pushes the release before this one, the sample app
// as v1.0.0, and returns it by digest.
func (w *world) pushPreviousRelease(t *testing.T) string {
	t.Helper()
	return w.s.PushSampleApp(t, w.repository+":1.0.0", "v1.0.0")
}

// installProduction installs release, by digest, as production's first
// release from the chart (promote's first release: blue, and the shared
// objects), with the values files the caller's workflow gives production.
// It returns the Helm client of production's namespace.
func (w *world) installProduction(t *testing.T, image string) *helm.Client {
	t.Helper()
	kc, err := kube.Load(kube.Source{Kubeconfig: w.s.Kubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	h, err := helm.New(kc.Getter(), w.production)
	if err != nil {
		t.Fatal(err)
	}
	client, err := kc.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ch, err := loader.Load(filepath.Join(w.repo, "chart"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := name.NewDigest(image)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := helm.Values{Files: []string{filepath.Join(w.repo, "deploy/staging.yaml"), filepath.Join(w.repo, "deploy/production.yaml")},
		Set:   []string{"env.DATABASE_URL=" + w.productionDB.PodURL},
		Image: &helm.Image{Repository: d.Context().Name(), Digest: d.DigestStr()}}.Merge()
	if err != nil {
		t.Fatal(err)
	}
	res, err := rollout.Promote(context.Background(), rollout.Config{
		Target: rollout.Target{App: traffic.App{Namespace: w.production, Service: rollouttest.Service, Deployment: rollouttest.Deployment},
			Client: client, Owner: "e2e/setup", Timeout: 3 * time.Minute},
		Image: image, Chart: &rollout.Chart{Helm: h, Chart: ch, Values: vals},
	})
	if err != nil || res.Outcome != rollout.Installed {
		t.Fatalf("installing production: %+v, %v", res, err)
	}
	return h
}

// release is the last revision of a Helm release, as helm history and
// helm get values show it.
type release struct {
	revisions         int
	status            string
	digest, env, part string
}

func lastRelease(t *testing.T, h *helm.Client, name string) release {
	t.Helper()
	hist, err := h.History(name)
	if err != nil || len(hist) == 0 {
		t.Fatalf("helm history %s: %v (%d revisions)", name, err, len(hist))
	}
	last := hist[len(hist)-1]
	get := func(path ...string) string {
		var v any = last.Config
		for _, p := range path {
			m, _ := v.(map[string]any)
			v = m[p]
		}
		s, _ := v.(string)
		return s
	}
	return release{revisions: len(hist), status: last.Info.Status.String(),
		digest: get("image", "digest"), env: get("env", "APP_ENVIRONMENT"), part: get("rollout", "part")}
}

func clusterIP(t *testing.T, client kubernetes.Interface, ns string) string {
	t.Helper()
	svc, err := client.CoreV1().Services(ns).Get(context.Background(), rollouttest.Service, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc.Spec.ClusterIP
}

// freeClusterIP returns an address of the Service CIDR that no Service has.
func freeClusterIP(t *testing.T, s *sandbox.Sandbox) string {
	t.Helper()
	client, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	list, err := client.CoreV1().Services("").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	taken := map[string]bool{}
	for _, svc := range list.Items {
		taken[svc.Spec.ClusterIP] = true
	}
	for {
		b := make([]byte, 2)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		// The lowest 256 addresses of the Service CIDR are the band the API
		// server keeps for addresses asked for by name: it allocates from
		// there only once the rest is full (KEP-3070).
		ip := fmt.Sprintf("10.96.0.%d", 16+int(b[0])%234)
		if !taken[ip] {
			return ip
		}
	}
}

func (w *world) remoteOptions() []remote.Option {
	if w.s.RegistryUser == "" {
		return nil
	}
	return []remote.Option{remote.WithAuth(&authn.Basic{Username: w.s.RegistryUser, Password: w.s.RegistryPassword})}
}

// verificationGate is the signature gate of production, on env's
// verification records of ref under the pipeline's key.
func (w *world) verificationGate(t *testing.T, ref, env string) error {
	t.Helper()
	d, err := name.NewDigest(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	p := sign.Policy{Key: w.pubFile, Attestations: []string{"verification"}, IgnoreTlog: true,
		Verification: sign.VerificationPolicy{Environment: env, MaxAge: time.Hour},
		Remote: image.Remote{Insecure: []string{d.RegistryStr()},
			Keychain: image.NewKeychain(image.Credentials{Registry: d.RegistryStr(), Username: w.s.RegistryUser, Password: w.s.RegistryPassword}, nil)}}
	return sign.Verify(context.Background(), d, p)
}

func (w *world) digestOf(t *testing.T, tag string) string {
	t.Helper()
	ref, err := name.NewTag(w.repository+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref, w.remoteOptions()...)
	if err != nil {
		t.Fatalf("tag %s: %v", tag, err)
	}
	return desc.Digest.String()
}

func (w *world) tags(t *testing.T) []string {
	t.Helper()
	repo, err := name.NewRepository(w.repository, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := remote.List(repo, w.remoteOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	return tags
}

// actRun is what one act run left: its error, each job's result, and each
// step's summary.
type actRun struct {
	err       error
	results   map[string]string // job id -> success, failure
	summaries map[string]string // job id + "/" + action name -> markdown
	log       []string
}

func (r actRun) summary(job, action string) string { return r.summaries[job+"/"+action] }

func (r actRun) tail() string {
	from := max(0, len(r.log)-60)
	return strings.Join(r.log[from:], "\n")
}

// ownAction matches a step that uses one of our actions.
var ownAction = regexp.MustCompile(`^fxplatform/deploy-actions/actions/([a-z-]+)@`)

// run runs one workflow of the caller's repository for an event with act.
// Our repository, at every commit the workflows pin, is this working tree.
func (w *world) run(t *testing.T, event, payload, workflow string) actRun {
	t.Helper()
	dir := t.TempDir()
	eventFile := filepath.Join(dir, "event.json")
	writeFile(t, eventFile, []byte(payload))
	secrets := filepath.Join(dir, "secrets")
	writeFile(t, secrets, []byte(strings.Join([]string{
		"SIGNING_KEY=" + w.keyFile,
		"STAGING_KUBECONFIG=" + w.s.Kubeconfig,
		"PRODUCTION_KUBECONFIG=" + w.s.Kubeconfig,
		"REGISTRY_PASSWORD=" + w.s.RegistryPassword,
	}, "\n")+"\n"))
	args := []string{event,
		"--json",
		"-W", filepath.Join(".github/workflows", workflow),
		"-e", eventFile,
		"-P", "ubuntu-latest=-self-hosted",
		"--secret-file", secrets,
		"--var", "REGISTRY=" + w.s.Registry,
		"--var", "REGISTRY_USERNAME=" + w.s.RegistryUser,
		"--var", "IMAGE=" + w.repository,
		"--var", "VERIFY_KEY=" + w.pubFile,
		"--var", "STAGING_NAMESPACE=" + w.staging,
		"--var", "PRODUCTION_NAMESPACE=" + w.production,
		"--var", "STAGING_URL=" + w.stagingURL,
		"--var", "STAGING_CLUSTER_IP=" + w.stagingIP,
		"--var", "PRODUCTION_URL=" + w.productionURL,
		"--var", "APP_FAULT=" + w.appFault,
		"--var", "BASE_IMAGE=" + w.baseImage,
		"--var", "STAGING_DATABASE_URL=" + w.stagingDB.PodURL,
		"--var", "PRODUCTION_DATABASE_URL=" + w.productionDB.PodURL,
		// The runner sets GITHUB_WORKFLOW_REF; act does not. sign's
		// provenance names it.
		"--env", "GITHUB_WORKFLOW_REF=acme/fx-platform/.github/workflows/" + workflow + "@" + refOf(payload),
	}
	for _, sha := range w.pins(t) {
		args = append(args, "--local-repository", "fxplatform/deploy-actions@"+sha+"="+w.root)
	}
	cmd := exec.Command(w.act, args...)
	cmd.Dir = w.repo
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(goBinary(t))+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	run := actRun{err: err, results: map[string]string{}, summaries: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var line struct {
			Msg       string   `json:"msg"`
			JobID     string   `json:"jobID"`
			JobResult string   `json:"jobResult"`
			Command   string   `json:"command"`
			Content   string   `json:"content"`
			Step      string   `json:"step"`
			StepID    []string `json:"stepID"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			run.log = append(run.log, sc.Text())
			continue
		}
		run.log = append(run.log, fmt.Sprintf("[%s] %s", line.JobID, line.Msg))
		if line.JobResult != "" {
			run.results[line.JobID] = line.JobResult
		}
		// A composite action's summary is reported for its inner step and
		// again for the action's own step; keep the action's.
		if m := ownAction.FindStringSubmatch(line.Step); line.Command == "summary" && m != nil && len(line.StepID) == 1 {
			run.summaries[line.JobID+"/"+m[1]] += line.Content
		}
	}
	if stderr.Len() > 0 {
		run.log = append(run.log, strings.Split(stderr.String(), "\n")...)
	}
	return run
}

// pins returns every commit of ours the caller's and our own workflows name.
func (w *world) pins(t *testing.T) []string {
	t.Helper()
	re := regexp.MustCompile(`fxplatform/deploy-actions/[^@\s]+@([0-9a-f]{40})`)
	var shas []string
	for _, dir := range []string{filepath.Join(w.root, ".github/workflows"), filepath.Join(w.repo, ".github/workflows")} {
		files, err := filepath.Glob(filepath.Join(dir, "*.yml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range re.FindAllSubmatch(b, -1) {
				if sha := string(m[1]); !slices.Contains(shas, sha) {
					shas = append(shas, sha)
				}
			}
		}
	}
	if len(shas) == 0 {
		t.Fatal("no workflow pins a commit of fxplatform/deploy-actions")
	}
	return shas
}

func pushEvent(tag string) string {
	return fmt.Sprintf(`{"ref": "refs/tags/%s", "ref_name": %q, "repository": {"full_name": "acme/fx-platform", "name": "fx-platform", "owner": {"login": "acme"}}}`, tag, tag)
}

func refOf(payload string) string {
	var e struct{ Ref string }
	_ = json.Unmarshal([]byte(payload), &e)
	if e.Ref == "" {
		return "refs/heads/main"
	}
	return e.Ref
}

// actBinary returns the pinned act: $ACT if set (scripts/test builds it into
// its cache), else built from the module proxy into the same cache.
func actBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ACT"); p != "" {
		return p
	}
	cache, err := sandbox.DefaultCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(filepath.Dir(cache), "tools", "act-"+actVersion)
	bin := filepath.Join(dir, "act")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command(goBinary(t), "install", "github.com/nektos/act@"+actVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building act %s: %v\n%s", actVersion, err, out)
	}
	return bin
}

func goBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		p = "/usr/local/go/bin/go"
	}
	return p
}

func liveColour(t *testing.T, client kubernetes.Interface, ns string) string {
	t.Helper()
	svc, err := client.CoreV1().Services(ns).Get(context.Background(), rollouttest.Service, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc.Spec.Selector["version"]
}

func imageOf(t *testing.T, client kubernetes.Interface, ns, deployment string) string {
	t.Helper()
	d, err := client.AppsV1().Deployments(ns).Get(context.Background(), deployment, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d.Spec.Template.Spec.Containers[0].Image
}

// signingKey writes an ECDSA P-256 key pair as openssl does (PKCS#8 and PKIX
// PEM) and returns their paths.
func signingKey(t *testing.T) (key, pub string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key, pub = filepath.Join(dir, "signing.key"), filepath.Join(dir, "signing.pub")
	writeFile(t, key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	writeFile(t, pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	return key, pub
}

func randomSuffix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}

// callerDockerfile is the caller's Dockerfile, shaped like the strategy's:
// a build stage and a production stage that takes only the built app from
// it, as a non-root user, from a base image in the team's registry; a debug
// stage after it, so that the target matters.
const callerDockerfile = `ARG BASE_IMAGE
FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY app/sample-app ./sample-app

FROM ${BASE_IMAGE} AS production
WORKDIR /app
COPY --from=build /src/sample-app /app/sample-app
USER 65532:65532
EXPOSE 3000
ENTRYPOINT ["/app/sample-app"]

FROM production AS debug
COPY ci/ /debug/
`

// scanIgnores are the team's reviewed exceptions to the scan, as
// osv-scanner reads them: the fixture advisory of testdata/scan/osv
// against golang.org/x/text, which the app's PostgreSQL driver links.
const scanIgnores = `[[IgnoredVulns]]
id = "GO-2099-0002"
ignoreUntil = 2099-01-01T00:00:00Z
reason = "golang.org/x/text/language is not reached: the app parses no language tags"
`

// The team's own tests: staging answers with the signal the release's
// schema adds; and a cut-down performance test.
const (
	stagingTests = `#!/usr/bin/env bash
set -euo pipefail
body=$(curl -fsS --max-time 5 "$STAGING_URL/api/strategy")
echo "staging answered: $body"
grep -q '"signal"' <<<"$body"
`
	performanceTests = `#!/usr/bin/env bash
set -euo pipefail
for i in $(seq 100); do curl -fsS --max-time 2 -o /dev/null "$STAGING_URL/api/strategy"; done
echo "staging answered 100 requests"
`
	failingStagingTests = `#!/usr/bin/env bash
echo "staging tests: EURUSD mispriced by 3 pips"
exit 1
`
)

// pushBaseImage pushes the base image the caller's Dockerfile builds on
// to the sandbox's registry (no public registry is reachable): a layer
// with a file that tells it, for this machine's platform.
func (w *world) pushBaseImage(t *testing.T) string {
	t.Helper()
	layer, err := crane.Layer(map[string][]byte{"etc/fx-base-release": []byte("fx-platform base 1\n")})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	repo := strings.Replace(w.repository, "/fx-platform-", "/base-", 1)
	ref, err := name.NewTag(repo+":1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, w.remoteOptions()...); err != nil {
		t.Fatalf("pushing the base image: %v", err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return repo + "@" + d.String()
}
