package scan_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/scan"
	"github.com/fxplatform/deploy-actions/pkg/scan/scantest"
)

// failingAPI is an OSV API stand-in that answers every request with 500.
func failingAPI(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// fakeOSVAPI answers /v1/querybatch and /v1/vulns/{id} from the fixture
// records, matching by package name only (the real API matches versions;
// the client re-checks nothing, so the fixtures chosen all affect the image).
func fakeOSVAPI(t *testing.T) string {
	t.Helper()
	records := map[string]json.RawMessage{}
	byName := map[string][]string{}
	files, _ := filepath.Glob(filepath.Join(scantest.Testdata, "osv", "*", "*.json"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rec struct {
			ID       string
			Affected []struct{ Package struct{ Name string } }
		}
		if err := json.Unmarshal(data, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.ID == "GHSA-jf85-cpcp-j695" { // does not affect lodash 4.17.15
			continue
		}
		records[rec.ID] = data
		for _, a := range rec.Affected {
			if !slices.Contains(byName[a.Package.Name], rec.ID) {
				byName[a.Package.Name] = append(byName[a.Package.Name], rec.ID)
			}
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/querybatch", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Queries []struct {
				Package struct{ Name string } `json:"package"`
			} `json:"queries"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		type vuln struct {
			ID string `json:"id"`
		}
		var resp struct {
			Results []struct {
				Vulns []vuln `json:"vulns"`
			} `json:"results"`
		}
		for _, q := range req.Queries {
			name := q.Package.Name
			if name == "go" {
				name = "stdlib"
			}
			var r struct {
				Vulns []vuln `json:"vulns"`
			}
			for _, id := range byName[name] {
				r.Vulns = append(r.Vulns, vuln{ID: id})
			}
			resp.Results = append(resp.Results, r)
		}
		json.NewEncoder(w).Encode(resp)
	})
	mux.HandleFunc("GET /v1/vulns/{id}", func(w http.ResponseWriter, r *http.Request) {
		rec, ok := records[r.PathValue("id")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(rec)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestAPIMatchesLikeOfflineDB(t *testing.T) {
	img, _ := scantest.OpenImage(t)
	_, offline, err := scan.Scan(context.Background(), img, scan.OfflineDB{Path: scantest.DB()}, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, online, err := scan.Scan(context.Background(), img, scan.API{URL: fakeOSVAPI(t), Retries: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var a, b []string
	for _, f := range offline {
		a = append(a, brief(f))
	}
	for _, f := range online {
		b = append(b, brief(f))
	}
	if !slices.Equal(a, b) {
		t.Errorf("API findings differ from the offline database:\n api %s\n db  %s", strings.Join(b, "\n     "), strings.Join(a, "\n     "))
	}
}
