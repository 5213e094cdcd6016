package helm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"sigs.k8s.io/yaml"
)

// Change kinds in a manifest diff.
const (
	Added   = "added"
	Changed = "changed"
	Removed = "removed"
)

// ResourceChange is one resource that differs between two rendered
// manifests.
type ResourceChange struct {
	Change    string // Added, Changed or Removed
	Kind      string
	Namespace string
	Name      string
	// Diff is a unified diff of the resource's YAML. It is always empty for
	// a Secret: its data must never reach a log or a summary.
	Diff string
}

// IsSecret reports whether the resource is a Secret (whose contents are
// never shown).
func (c ResourceChange) IsSecret() bool { return c.Kind == "Secret" }

// ManifestDigest is the sha256 of a rendered manifest, "sha256:<hex>".
func ManifestDigest(manifest string) string {
	sum := sha256.Sum256([]byte(manifest))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// DiffManifests compares two rendered release manifests resource by
// resource (kind, namespace, name) and returns what was added, changed and
// removed, sorted by change, kind and name.
func DiffManifests(before, after string) ([]ResourceChange, error) {
	old, err := resources(before)
	if err != nil {
		return nil, fmt.Errorf("reading the previous manifest: %w", err)
	}
	cur, err := resources(after)
	if err != nil {
		return nil, fmt.Errorf("reading the new manifest: %w", err)
	}
	var out []ResourceChange
	for key, doc := range cur {
		prev, ok := old[key]
		switch {
		case !ok:
			out = append(out, key.change(Added, "", doc))
		case prev != doc:
			out = append(out, key.change(Changed, prev, doc))
		}
	}
	for key, doc := range old {
		if _, ok := cur[key]; !ok {
			out = append(out, key.change(Removed, doc, ""))
		}
	}
	order := map[string]int{Added: 0, Changed: 1, Removed: 2}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Change != b.Change {
			return order[a.Change] < order[b.Change]
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return out, nil
}

type resourceKey struct{ kind, namespace, name string }

func (k resourceKey) change(change, before, after string) ResourceChange {
	c := ResourceChange{Change: change, Kind: k.kind, Namespace: k.namespace, Name: k.name}
	if c.IsSecret() {
		return c
	}
	c.Diff, _ = difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        difflib.SplitLines(before),
		B:        difflib.SplitLines(after),
		FromFile: "previous",
		ToFile:   "new",
		Context:  2,
	})
	return c
}

// resources splits a manifest into its documents keyed by resource,
// without the "# Source:" comments Helm adds.
func resources(manifest string) (map[resourceKey]string, error) {
	out := map[resourceKey]string{}
	for _, doc := range releaseutil.SplitManifests(manifest) {
		var lines []string
		for _, l := range strings.Split(doc, "\n") {
			if !strings.HasPrefix(l, "# Source: ") {
				lines = append(lines, l)
			}
		}
		body := strings.TrimSpace(strings.Join(lines, "\n"))
		if body == "" {
			continue
		}
		var meta struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(body), &meta); err != nil {
			return nil, err
		}
		if meta.Kind == "" {
			continue
		}
		out[resourceKey{meta.Kind, meta.Metadata.Namespace, meta.Metadata.Name}] = body + "\n"
	}
	return out, nil
}
