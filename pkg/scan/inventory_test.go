package scan

import (
	"io/fs"
	"testing"
	"testing/fstest"
	"time"
)

// TestNoExtractorSkipsALargeFile: an extractor that skipped a file for its
// size would let a padded dpkg status or package.json pass the scan with
// none of its packages (three of them default to 100 MiB when the limit is
// 0). Every file an extractor wants at 1 KiB it still wants at 64 GiB: the
// memory budget, not the extractor, decides, and it stops the scan.
func TestNoExtractorSkipsALargeFile(t *testing.T) {
	exts, err := extractors()
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{
		"var/lib/dpkg/status", "var/lib/dpkg/status.d/libssl3", "lib/apk/db/installed",
		"app/package-lock.json", "app/node_modules/lodash/package.json", "app/yarn.lock", "app/pnpm-lock.yaml",
		"usr/local/bin/server", "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
		"usr/lib/python3/site-packages/six-1.16.0-py3.11.egg-info/PKG-INFO",
	}
	for _, e := range exts {
		for _, p := range paths {
			stat := func(size int64) fs.FileInfo {
				return fileInfo{fstest.MapFile{Mode: 0o755}, p, size}
			}
			small := e.FileRequired(fileAPI{path: p, info: stat(1 << 10)})
			large := e.FileRequired(fileAPI{path: p, info: stat(64 << 30)})
			if small && !large {
				t.Errorf("extractor %s skips %s at 64 GiB", e.Name(), p)
			}
		}
	}
}

// fileInfo is a MapFile's FileInfo with a size of its own.
type fileInfo struct {
	f    fstest.MapFile
	name string
	size int64
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) Mode() fs.FileMode  { return i.f.Mode }
func (i fileInfo) ModTime() time.Time { return i.f.ModTime }
func (i fileInfo) IsDir() bool        { return false }
func (i fileInfo) Sys() any           { return nil }
