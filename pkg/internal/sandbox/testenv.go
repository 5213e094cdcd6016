//go:build integration

// The helpers that hand a test a running server live behind the integration
// build tag: a test without the tag that reaches for the sandbox does not
// compile, so `go test ./...` can never start one.

package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The sandbox a test binary shares, set by Main.
var (
	sharedMu sync.Mutex
	shared   *Sandbox
)

// Main runs a package's tests against one sandbox. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(sandbox.Main(m)) }
//
// It reuses the sandbox running in $SANDBOX_DIR (or in the default state
// directory, as `scripts/sandbox up` leaves it). If none runs, it starts one
// in a temporary directory for this test binary (building the control plane
// first if the cache is cold) and stops it when the tests end. A sandbox
// that cannot start fails the run: integration tests never skip.
func Main(m *testing.M) int {
	RunAgentIfAsked()
	s, stop, err := reuseOrStart(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "sandbox: %v\n", err)
		return 1
	}
	sharedMu.Lock()
	shared = s
	sharedMu.Unlock()
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintf(os.Stderr, "sandbox: stopping: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Get returns the sandbox for t: the one Main set up, else one found or
// started as Main would, stopped when t ends.
func Get(t testing.TB) *Sandbox {
	t.Helper()
	sharedMu.Lock()
	s := shared
	sharedMu.Unlock()
	if s != nil {
		return s
	}
	s, stop, err := reuseOrStart(context.Background())
	if err != nil {
		t.Fatalf("starting the sandbox: %v", err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("stopping the sandbox: %v", err)
		}
	})
	return s
}

// reuseOrStart finds a running sandbox, or starts a private one whose
// processes die with this process; stop tears down only what it started.
func reuseOrStart(ctx context.Context) (*Sandbox, func() error, error) {
	dir := os.Getenv("SANDBOX_DIR")
	if dir == "" {
		cache, err := DefaultCacheDir()
		if err != nil {
			return nil, nil, err
		}
		dir = cache + "/state"
	}
	if s, err := Load(dir); err == nil && s.Check() == nil {
		return s, func() error { return nil }, nil
	}
	tmp, err := os.MkdirTemp("", "deploy-actions-sandbox-")
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(os.Stderr, "sandbox: no running sandbox in %s; starting one in %s for this test binary\n", dir, tmp)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	s, err := Up(ctx, Config{Dir: tmp, Progress: os.Stderr})
	if err != nil {
		return nil, nil, err
	}
	return s, func() error { return Down(context.Background(), tmp) }, nil
}

// Namespace creates a namespace with a unique name for t and deletes it when
// t ends.
func (s *Sandbox) Namespace(t testing.TB) string {
	t.Helper()
	client, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := "test-" + hex.EncodeToString(suffix)
	ctx := context.Background()
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	t.Cleanup(func() {
		_ = client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

// NewTestRegistry starts a registry in a temporary directory for the test
// and stops it when the test ends. It fails the test if the registry cannot
// start; it never skips.
func NewTestRegistry(t testing.TB, opts RegistryOptions) *Registry {
	t.Helper()
	r, err := StartRegistry(context.Background(), t.TempDir(), opts)
	if err != nil {
		t.Fatalf("starting registry: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("stopping registry: %v", err)
		}
	})
	return r
}

// TestDatabase is a database and role of the sandbox's PostgreSQL for t
// alone, named after t and dropped when t ends.
func TestDatabase(t testing.TB) Database {
	t.Helper()
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s %d", t.Name(), time.Now().UnixNano())))
	name := "t_" + hex.EncodeToString(sum[:8])
	s := Get(t)
	db, err := s.CreateDatabase(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.DropDatabase(context.Background(), name); err != nil {
			t.Errorf("dropping the test's database: %v", err)
		}
	})
	return db
}
