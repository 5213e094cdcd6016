package helm

import (
	"errors"
	"fmt"
	"sort"

	"helm.sh/helm/v4/pkg/action"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Rendered is a chart rendered without a cluster, as helm template does.
type Rendered struct {
	Manifest string
	Objects  []*unstructured.Unstructured
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
	out := &Rendered{Manifest: rel.Manifest}
	for _, k := range keys {
		// Through JSON and the unstructured decoder, so integers are
		// int64, as the API server's objects are.
		j, err := yaml.YAMLToJSON([]byte(docs[k]))
		obj := &unstructured.Unstructured{}
		if err == nil {
			err = obj.UnmarshalJSON(j)
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s %q: %w", k.kind, k.name, err)
		}
		out.Objects = append(out.Objects, obj)
	}
	return out, nil
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
