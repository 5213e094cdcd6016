package sandbox

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Two processes' tests add rule files at once, one of them bad: the good
// one loads, whatever the interleaving. A reload reads every file, so
// without the lock the good file's reload could fail on the bad one, and
// AddRules removed the good file.
func TestAddRulesConcurrentBadFileSparesTheOthers(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "prometheus", "rules")
	// A Prometheus that refuses a reload while any rule file says BAD, and
	// takes a while to reload, as the real one does with many files.
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		files, _ := filepath.Glob(filepath.Join(rules, "*.yml"))
		for _, f := range files {
			if data, _ := os.ReadFile(f); strings.Contains(string(data), "BAD") {
				http.Error(w, "error loading "+f, http.StatusInternalServerError)
				return
			}
		}
	}))
	defer prom.Close()
	s := &Sandbox{Dir: dir, PrometheusURL: prom.URL}
	for round := range 5 {
		var wg sync.WaitGroup
		var goodErr, badErr error
		wg.Add(2)
		go func() { defer wg.Done(); badErr = s.AddRules("bad", []byte("BAD")) }()
		go func() { defer wg.Done(); goodErr = s.AddRules("good", []byte("groups: []")) }()
		wg.Wait()
		if badErr == nil {
			t.Errorf("round %d: the bad file loaded", round)
		}
		if goodErr != nil {
			t.Errorf("round %d: the good file failed: %v", round, goodErr)
		}
		if _, err := os.Stat(filepath.Join(rules, "good.yml")); err != nil {
			t.Errorf("round %d: the good file is gone: %v", round, err)
		}
		if _, err := os.Stat(filepath.Join(rules, "bad.yml")); err == nil {
			t.Errorf("round %d: the bad file stayed", round)
		}
		if err := s.RemoveRules("good"); err != nil {
			t.Fatal(err)
		}
	}
}
