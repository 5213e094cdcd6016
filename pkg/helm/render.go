package helm

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/action"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	release "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Rendered is a chart rendered without a cluster, as helm template does.
type Rendered struct {
	Manifest string
	Objects  []*unstructured.Unstructured
	// Hooks is the hooks' manifests as HooksText writes them, and
	// HookObjects the hooks' objects: Helm keeps them out of Manifest, but
	// an install or upgrade runs them.
	Hooks       string
	HookObjects []*unstructured.Unstructured
}

// HooksText is the manifests of hooks in one text, in the order of their
// templates' paths and names, so a render compares with a stored release.
func HooksText(hooks []*release.Hook) string {
	hs := append([]*release.Hook(nil), hooks...)
	sort.SliceStable(hs, func(i, j int) bool {
		if hs[i].Path != hs[j].Path {
			return hs[i].Path < hs[j].Path
		}
		return hs[i].Name < hs[j].Name
	})
	var b strings.Builder
	for _, h := range hs {
		fmt.Fprintf(&b, "---\n# Hook: %s %s\n%s\n", h.Path, h.Name, h.Manifest)
	}
	return b.String()
}

// Render renders ch as release name in namespace with vals, client-side:
// no cluster is reached (Helm's default capabilities stand in for the
// server's). Hooks are left out; the objects are sorted by kind and name.
func Render(ch *chart.Chart, name, namespace string, vals map[string]any) (*Rendered, error) {
	if ch == nil {
		return nil, errors.New("no chart")
	}
	in := action.NewInstall(action.NewConfiguration())
	in.ReleaseName, in.Namespace = name, namespace
	in.DryRunStrategy = action.DryRunClient
	in.Replace = true
	r, err := in.Run(ch, vals)
	if err != nil {
		return nil, fmt.Errorf("rendering chart %q as release %q: %w", ch.Name(), name, err)
	}
	rel, err := v1(r)
	if err != nil {
		return nil, err
	}
	docs, err := resources(rel.Manifest)
	if err != nil {
		return nil, fmt.Errorf("reading the manifest of %q: %w", name, err)
	}
	keys := make([]resourceKey, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		return a.name < b.name
	})
	out := &Rendered{Manifest: rel.Manifest, Hooks: HooksText(rel.Hooks)}
	for _, h := range rel.Hooks {
		obj, err := decode(h.Manifest)
		if err != nil {
			return nil, fmt.Errorf("reading hook %s %q: %w", h.Kind, h.Name, err)
		}
		out.HookObjects = append(out.HookObjects, obj)
	}
	for _, k := range keys {
		// Through JSON and the unstructured decoder, so integers are
		// int64, as the API server's objects are.
		obj, err := decode(docs[k])
		if err != nil {
			return nil, fmt.Errorf("reading %s %q: %w", k.kind, k.name, err)
		}
		out.Objects = append(out.Objects, obj)
	}
	return out, nil
}

// decode reads one YAML object through JSON and the unstructured decoder,
// so integers are int64, as the API server's objects are.
func decode(doc string) (*unstructured.Unstructured, error) {
	j, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		return nil, err
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(j); err != nil {
		return nil, err
	}
	return obj, nil
}

// Find returns the rendered object of kind and name, or nil.
func (r *Rendered) Find(kind, name string) *unstructured.Unstructured {
	for _, o := range r.Objects {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}
