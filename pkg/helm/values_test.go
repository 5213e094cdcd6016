package helm

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestValuesMerge(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.yaml")
	staging := filepath.Join(dir, "staging.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	for path, text := range map[string]string{
		base:    "replicaCount: 3\nimage:\n  repository: old\n  tag: v1\nservice:\n  port: 80\n",
		staging: "replicaCount: 2\nenv: staging\n",
		bad:     "replicaCount: [3\n",
	} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name       string
		values     Values
		want       map[string]any
		wantSource string // the ValuesError source, "" for success
	}{
		{name: "files in order", values: Values{Files: []string{base, staging}},
			want: map[string]any{"replicaCount": float64(2), "env": "staging", "image": map[string]any{"repository": "old", "tag": "v1"}, "service": map[string]any{"port": float64(80)}}},
		{name: "set after files", values: Values{Files: []string{staging}, Set: []string{"replicaCount=5,a.b=true"}},
			want: map[string]any{"replicaCount": int64(5), "env": "staging", "a": map[string]any{"b": true}}},
		{name: "set-string keeps strings", values: Values{Set: []string{"n=5"}, SetString: []string{"n=5"}},
			want: map[string]any{"n": "5"}},
		{name: "image digest at default keys", values: Values{Image: &Image{Repository: "r/app", Digest: digestA}},
			want: map[string]any{"image": map[string]any{"repository": "r/app", "digest": digestA}}},
		{name: "image at custom keys", values: Values{Image: &Image{Repository: "r/app", Digest: digestA, RepositoryKey: "web.image.repo", DigestKey: "web.image.sha"}},
			want: map[string]any{"web": map[string]any{"image": map[string]any{"repo": "r/app", "sha": digestA}}}},
		{name: "image at tag key", values: Values{Image: &Image{Repository: "r/app", Digest: digestA, Tag: "1.2.3", TagKey: "image.tag"}},
			want: map[string]any{"image": map[string]any{"repository": "r/app", "tag": "1.2.3@" + digestA}}},
		{name: "image overrides files", values: Values{Files: []string{base}, Image: &Image{Repository: "r/app", Digest: digestA}},
			want: map[string]any{"replicaCount": float64(3), "service": map[string]any{"port": float64(80)}, "image": map[string]any{"repository": "r/app", "tag": "v1", "digest": digestA}}},
		{name: "tag key without a tag", values: Values{Image: &Image{Repository: "r/app", Digest: digestA, TagKey: "image.tag"}}, wantSource: "image"},
		{name: "image key under a scalar", values: Values{Set: []string{"image=x"}, Image: &Image{Repository: "r/app", Digest: digestA}}, wantSource: "image"},
		{name: "missing values file", values: Values{Files: []string{filepath.Join(dir, "nope.yaml")}}, wantSource: "values-files"},
		{name: "unparsable values file", values: Values{Files: []string{bad}}, wantSource: "values-files"},
		{name: "invalid set syntax", values: Values{Set: []string{"a.b[=1"}}, wantSource: "set"},
		{name: "set list index", values: Values{Set: []string{"a[-1]=1"}}, wantSource: "set"},
		{name: "set empty key", values: Values{Set: []string{"=x"}}, wantSource: "set"},
		{name: "set without value", values: Values{Set: []string{"justakey"}}, wantSource: "set"},
		{name: "invalid set-string syntax", values: Values{SetString: []string{"list[x]=1"}}, wantSource: "set-string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.values.Merge()
			if tc.wantSource != "" {
				var ve *ValuesError
				if !errors.As(err, &ve) || ve.Source != tc.wantSource {
					t.Fatalf("Merge() error = %v, want a ValuesError from %q", err, tc.wantSource)
				}
				return
			}
			if err != nil {
				t.Fatalf("Merge() error = %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Merge() = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func FuzzValuesSet(f *testing.F) {
	f.Add("a=b,c.d=e")
	f.Add("a[0].b=1")
	f.Fuzz(func(t *testing.T, s string) {
		// Helm's parser either accepts a line or reports it; never panics.
		_, _ = Values{Set: []string{s}}.Merge()
	})
}
