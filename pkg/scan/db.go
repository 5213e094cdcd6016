package scan

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/osv-scalibr/enricher/vulnmatch/osvdev"
	"github.com/google/osv-scalibr/enricher/vulnmatch/osvlocal"
	"github.com/google/osv-scalibr/extractor"
	apkmeta "github.com/google/osv-scalibr/extractor/filesystem/os/apk/metadata"
	dpkgmeta "github.com/google/osv-scalibr/extractor/filesystem/os/dpkg/metadata"
	"github.com/google/osv-scalibr/inventory"
	osvpb "github.com/ossf/osv-schema/bindings/go/osvschema"
	"google.golang.org/protobuf/encoding/protojson"
	osvclient "osv.dev/bindings/go/osvdev"
)

// Matcher finds the OSV advisories that affect packages.
type Matcher interface {
	// Match returns one PackageVuln per affected package and advisory. Any
	// failure to consult the database is a *DatabaseError.
	Match(ctx context.Context, pkgs []*extractor.Package) ([]*inventory.PackageVuln, error)
}

// OfflineDB matches against OSV records on disk, in the osv.dev export
// layout: <dir>/<ecosystem>/all.zip (zips of OSV JSON records), or
// <dir>/<ecosystem>/*.json, or one zip file holding the records of every
// ecosystem. An ecosystem found in the image but missing from the database
// is an error: the scan cannot vouch for those packages.
type OfflineDB struct{ Path string }

// Match implements Matcher with OSV-SCALIBR's offline version matching.
func (db OfflineDB) Match(ctx context.Context, pkgs []*extractor.Package) ([]*inventory.PackageVuln, error) {
	byEco := map[string][]*extractor.Package{}
	for _, p := range pkgs {
		if eco := string(p.Ecosystem().Ecosystem); eco != "" {
			byEco[eco] = append(byEco[eco], p)
		}
	}
	ecos := make([]string, 0, len(byEco))
	for eco := range byEco {
		ecos = append(ecos, eco)
	}
	sort.Strings(ecos)
	var out []*inventory.PackageVuln
	for _, eco := range ecos {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ps := byEco[eco]
		vulns, err := db.load(eco, packageNames(ps))
		if err != nil {
			return nil, &DatabaseError{Source: db.Path, Err: err}
		}
		for _, p := range ps {
			for _, v := range osvlocal.VulnerabilitiesAffectingPackage(vulns, p) {
				out = append(out, &inventory.PackageVuln{Vulnerability: v, Package: p})
			}
		}
	}
	return out, nil
}

// load reads the records of one ecosystem that name one of names.
func (db OfflineDB) load(eco string, names map[string]bool) ([]*osvpb.Vulnerability, error) {
	fi, err := os.Stat(db.Path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return readZip(db.Path, names)
	}
	dir := filepath.Join(db.Path, eco)
	if z := filepath.Join(dir, "all.zip"); fileExists(z) {
		return readZip(z, names)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no database for ecosystem %q (want %s/all.zip)", eco, eco)
	}
	var out []*osvpb.Vulnerability
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		v, err := parseRecord(data, names)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if v != nil {
			out = append(out, v)
		}
	}
	return out, nil
}

func readZip(path string, names map[string]bool) ([]*osvpb.Vulnerability, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	var out []*osvpb.Vulnerability
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".json") {
			continue
		}
		data, err := readZipFile(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, f.Name, err)
		}
		v, err := parseRecord(data, names)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, f.Name, err)
		}
		if v != nil {
			out = append(out, v)
		}
	}
	return out, nil
}

func readZipFile(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// parseRecord decodes an OSV record when it names one of the packages; a
// cheap first pass skips the others, which are most of an export.
func parseRecord(data []byte, names map[string]bool) (*osvpb.Vulnerability, error) {
	var head struct {
		Affected []struct {
			Package struct{ Name string } `json:"package"`
		} `json:"affected"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("not an OSV record: %w", err)
	}
	hit := false
	for _, a := range head.Affected {
		if names[strings.ToLower(a.Package.Name)] {
			hit = true
			break
		}
	}
	if !hit {
		return nil, nil
	}
	v := &osvpb.Vulnerability{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("not an OSV record: %w", err)
	}
	return v, nil
}

// packageNames are the names a package may have in advisories: its own,
// and its source package for Debian and Alpine, lower-cased.
func packageNames(pkgs []*extractor.Package) map[string]bool {
	names := map[string]bool{}
	for _, p := range pkgs {
		names[strings.ToLower(p.Name)] = true
		switch m := p.Metadata.(type) {
		case *dpkgmeta.Metadata:
			names[strings.ToLower(m.SourceName)] = true
		case *apkmeta.Metadata:
			names[strings.ToLower(m.OriginName)] = true
		}
		if p.Name == "go" && p.Ecosystem().Ecosystem == "Go" { // the toolchain is "stdlib" in the Go database
			names["stdlib"] = true
		}
		if strings.Contains(p.Name, "_") { // PyPI names normalise _ to -
			names[strings.ToLower(strings.ReplaceAll(p.Name, "_", "-"))] = true
		}
	}
	return names
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// CheckOfflineDB reports whether path can be an offline database, without
// reading it whole: a readable directory or zip file.
func CheckOfflineDB(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		_, err := os.ReadDir(path)
		return err
	}
	if !strings.HasSuffix(path, ".zip") {
		return errors.New("is neither a directory nor a .zip file")
	}
	return nil
}

// API matches through the OSV API (api.osv.dev or a mirror of it).
type API struct {
	URL    string
	Client *http.Client
	// Retries is how many times a failed request is tried; default 4.
	Retries int
}

// Match implements Matcher with OSV-SCALIBR's osv.dev enricher.
func (a API) Match(ctx context.Context, pkgs []*extractor.Package) ([]*inventory.PackageVuln, error) {
	c := osvclient.DefaultClient()
	c.BaseHostURL = strings.TrimSuffix(a.URL, "/")
	if a.Client != nil {
		c.HTTPClient = a.Client
	}
	if a.Retries > 0 {
		c.Config.MaxRetryAttempts = a.Retries
	}
	c.Config.UserAgent = "deploy-actions-scan"
	inv := &inventory.Inventory{Packages: pkgs}
	if err := osvdev.NewWithClient(c, 0).Enrich(ctx, nil, inv); err != nil {
		return nil, &DatabaseError{Source: a.URL, Err: err}
	}
	for _, pv := range inv.PackageVulns {
		if pv.Vulnerability == nil {
			return nil, &DatabaseError{Source: a.URL, Err: errors.New("an advisory could not be fetched")}
		}
	}
	return inv.PackageVulns, nil
}
