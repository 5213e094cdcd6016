package scan

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	scalibr "github.com/google/osv-scalibr"
	cpb "github.com/google/osv-scalibr/binary/proto/config_go_proto"
	"github.com/google/osv-scalibr/extractor"
	"github.com/google/osv-scalibr/extractor/filesystem"
	"github.com/google/osv-scalibr/extractor/filesystem/language/golang/gobinary"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/packagejson"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/packagelockjson"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/pnpmlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/yarnlock"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/wheelegg"
	"github.com/google/osv-scalibr/extractor/filesystem/os/apk"
	"github.com/google/osv-scalibr/extractor/filesystem/os/dpkg"
	scalibrfs "github.com/google/osv-scalibr/fs"
	"github.com/google/osv-scalibr/inventory"
	scalibrlog "github.com/google/osv-scalibr/log"
	"github.com/google/osv-scalibr/plugin"
)

// extractorFactories are the OSV-SCALIBR extractors run on an image: OS
// package databases, JavaScript lockfiles and installed node_modules, Go
// binaries' build info and installed Python packages. Each is linked by
// name rather than through SCALIBR's list of every plugin, which would pull
// in hundreds of unrelated packages.
var extractorFactories = []func(*cpb.PluginConfig) (filesystem.Extractor, error){
	dpkg.New, apk.New,
	packagelockjson.New, packagejson.New, yarnlock.New, pnpmlock.New,
	gobinary.New, wheelegg.New,
}

// Inventory is what an image contains: its packages as OSV-SCALIBR found
// them, and for each file they came from, the layer that added it.
type Inventory struct {
	scalibr inventory.Inventory
	layer   map[string]v1.Hash
}

// Packages returns the packages found.
func (inv *Inventory) Packages() []*extractor.Package { return inv.scalibr.Packages }

// Layer returns the diff ID of the layer that added the file at path.
func (inv *Inventory) Layer(path string) (v1.Hash, bool) {
	h, ok := inv.layer[path]
	return h, ok
}

// ReadInventory streams the layers of img and extracts its packages,
// keeping at most budget bytes of its files in memory.
//
// The extractors' own size limits (PluginConfig.MaxFileSizeBytes) are
// lifted on purpose: a file over them is skipped in silence and the scan
// passes without its packages. The budget stops the scan instead.
func ReadInventory(ctx context.Context, img v1.Image, budget Budget) (*Inventory, error) {
	exts, err := extractors()
	if err != nil {
		return nil, err
	}
	want := func(p string, fi fs.FileInfo) bool {
		api := fileAPI{path: p, info: fi}
		for _, e := range exts {
			if e.FileRequired(api) {
				return true
			}
		}
		return false
	}
	sq, err := squash(ctx, img, want, budget)
	if err != nil {
		return nil, err
	}
	plugins := make([]plugin.Plugin, len(exts))
	for i, e := range exts {
		plugins[i] = e
	}
	res := scalibr.New().Scan(ctx, &scalibr.ScanConfig{
		Plugins:      plugins,
		Capabilities: &plugin.Capabilities{OS: plugin.OSLinux, Network: plugin.NetworkOffline},
		ScanRoots:    []*scalibrfs.ScanRoot{{FS: sq.fs}},
	})
	if res.Status.Status == plugin.ScanStatusFailed {
		return nil, fmt.Errorf("extracting packages: %s", res.Status.FailureReason)
	}
	var errs []error
	for _, st := range res.PluginStatus {
		if st.Status != nil && st.Status.Status == plugin.ScanStatusFailed {
			errs = append(errs, fmt.Errorf("extractor %s: %s", st.Name, st.Status.FailureReason))
		}
		for _, fe := range st.Status.FileErrors {
			errs = append(errs, fmt.Errorf("extractor %s: %q: %s", st.Name, fe.FilePath, fe.ErrorMessage))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("extracting packages: %w", err)
	}
	return &Inventory{scalibr: res.Inventory, layer: sq.layer}, nil
}

// quiet silences OSV-SCALIBR's package-level logger: library code does
// not print, and what SCALIBR logs (walk statistics) is not for users.
type quiet struct{}

func (quiet) Errorf(string, ...any) {}
func (quiet) Error(...any)          {}
func (quiet) Warnf(string, ...any)  {}
func (quiet) Warn(...any)           {}
func (quiet) Infof(string, ...any)  {}
func (quiet) Info(...any)           {}
func (quiet) Debugf(string, ...any) {}
func (quiet) Debug(...any)          {}

var silenceOnce sync.Once

func extractors() ([]filesystem.Extractor, error) {
	silenceOnce.Do(func() { scalibrlog.SetLogger(quiet{}) })
	// 0 is not "no limit": dpkg, packagejson and wheelegg then apply a
	// default of 100 MiB and skip a larger file in silence. The largest
	// value is: every file an extractor wants is kept, within the budget.
	cfg := &cpb.PluginConfig{MaxFileSizeBytes: math.MaxInt64}
	out := make([]filesystem.Extractor, 0, len(extractorFactories))
	for _, f := range extractorFactories {
		e, err := f(cfg)
		if err != nil {
			return nil, fmt.Errorf("setting up extractors: %w", err)
		}
		out = append(out, e)
	}
	return out, nil
}

// fileAPI is a layer entry as an extractor's FileRequired sees it.
type fileAPI struct {
	path string
	info fs.FileInfo
}

func (f fileAPI) Path() string               { return f.path }
func (f fileAPI) Stat() (fs.FileInfo, error) { return f.info, nil }
