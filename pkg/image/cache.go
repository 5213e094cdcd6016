package image

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// layerCache remembers the sums of layers already built, keyed by
// fileLayer.cacheKey, so a rebuild with no change needs neither to
// compress nor to upload. It is advisory: any error reads as a miss, and
// the directory is safe to delete.
type layerCache struct{ dir string }

// DefaultCacheDir returns the cache directory used when a caller has no
// better idea: $XDG_CACHE_HOME/deploy-actions, else
// $HOME/.cache/deploy-actions, else "" (no cache). getenv is os.Getenv or a
// stand-in.
func DefaultCacheDir(getenv func(string) string) string {
	if d := getenv("XDG_CACHE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "deploy-actions")
	}
	if h := getenv("HOME"); filepath.IsAbs(h) {
		return filepath.Join(h, ".cache", "deploy-actions")
	}
	return ""
}

func (c layerCache) path(key string) string {
	return filepath.Join(c.dir, "layers", key[:2], key+".json")
}

func (c layerCache) get(key string) (*layerSums, bool) {
	if c.dir == "" {
		return nil, false
	}
	b, err := os.ReadFile(c.path(key))
	if err != nil {
		return nil, false
	}
	var s layerSums
	if err := json.Unmarshal(b, &s); err != nil || s.Digest.Hex == "" || s.DiffID.Hex == "" || s.Size <= 0 {
		return nil, false
	}
	return &s, true
}

// put stores sums; failures are ignored, as the cache only saves work.
func (c layerCache) put(key string, s *layerSums) {
	if c.dir == "" || s == nil {
		return
	}
	p := c.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return
	}
	b, err := json.Marshal(s)
	if err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), p) != nil {
		os.Remove(tmp.Name())
	}
}

// drop forgets an entry that proved wrong.
func (c layerCache) drop(key string) {
	if c.dir != "" {
		os.Remove(c.path(key))
	}
}
