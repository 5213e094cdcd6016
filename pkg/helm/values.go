package helm

import (
	"fmt"
	"os"
	"strings"

	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/strvals"
)

// ValuesError is a values source that cannot be read: which one (the
// action input it came from) and why.
type ValuesError struct {
	Source string // "values-files", "set", "set-string", "image"
	Err    error
}

func (e *ValuesError) Error() string { return e.Source + ": " + e.Err.Error() }
func (e *ValuesError) Unwrap() error { return e.Err }

// Values are the chart values of one deploy, given as the helm CLI takes
// them and merged in the same order: files, then --set, then --set-string,
// then the image.
type Values struct {
	Files     []string // -f, applied in order
	Set       []string // --set lines (each may hold a,b=c lists)
	SetString []string // --set-string lines
	Image     *Image
}

// Image pins the workload's image by digest in the values.
type Image struct {
	Repository string // e.g. 127.0.0.1:5000/fx-platform
	Digest     string // sha256:<64 hex>
	// Tag is the tag given alongside the digest (repo:tag@sha256:...), if
	// any; it is only used with TagKey.
	Tag string

	RepositoryKey string // default "image.repository"
	DigestKey     string // default "image.digest"
	// TagKey, when set, replaces DigestKey for charts that only template
	// repository:tag: it gets "<tag>@sha256:...", a reference that is
	// still pinned by digest.
	TagKey string
}

// Merge reads and merges the values. Errors name the source, so the
// caller can blame the right input; nothing here reaches the network.
func (v Values) Merge() (map[string]any, error) {
	base := map[string]any{}
	for _, f := range v.Files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, &ValuesError{"values-files", fmt.Errorf("reading %q: %w", f, err)}
		}
		m, err := loader.LoadValues(strings.NewReader(string(b)))
		if err != nil {
			return nil, &ValuesError{"values-files", fmt.Errorf("parsing %q: %w", f, err)}
		}
		base = loader.MergeMaps(base, m)
	}
	for _, s := range v.Set {
		if err := parseSet(s, base, strvals.ParseInto); err != nil {
			return nil, &ValuesError{"set", err}
		}
	}
	for _, s := range v.SetString {
		if err := parseSet(s, base, strvals.ParseIntoString); err != nil {
			return nil, &ValuesError{"set-string", err}
		}
	}
	if v.Image != nil {
		if err := v.Image.apply(base); err != nil {
			return nil, &ValuesError{"image", err}
		}
	}
	return base, nil
}

// parseSet applies one --set line with Helm's parser. A line Helm's parser
// accepts but that sets nothing ("=x", "a[=1") is refused too: it is a typo,
// and ignoring it would deploy something else than asked.
func parseSet(line string, dest map[string]any, parse func(string, map[string]any) error) error {
	probe := map[string]any{}
	if err := parse(line, probe); err != nil {
		return fmt.Errorf("%q: %w", line, err)
	}
	if len(probe) == 0 {
		return fmt.Errorf("%q sets no value (want key=value, as helm --set takes it)", line)
	}
	return parse(line, dest)
}

func (im *Image) apply(vals map[string]any) error {
	repoKey := orDefault(im.RepositoryKey, "image.repository")
	if err := setString(vals, repoKey, im.Repository); err != nil {
		return err
	}
	if im.TagKey != "" {
		if im.Tag == "" {
			return fmt.Errorf("writing the image at a tag key needs repo:tag@sha256:..., so that %q stays a valid reference pinned by digest", im.TagKey)
		}
		return setString(vals, im.TagKey, im.Tag+"@"+im.Digest)
	}
	return setString(vals, orDefault(im.DigestKey, "image.digest"), im.Digest)
}

// setString writes value at a dotted key path, creating maps on the way.
// It does not go through strvals, so a value is never split on commas.
func setString(vals map[string]any, key, value string) error {
	parts := strings.Split(key, ".")
	m := vals
	for i, p := range parts {
		if p == "" {
			return fmt.Errorf("key %q has an empty part", key)
		}
		if i == len(parts)-1 {
			m[p] = value
			return nil
		}
		next, ok := m[p].(map[string]any)
		if !ok {
			if m[p] != nil {
				return fmt.Errorf("key %q: %q is not a map in the values", key, strings.Join(parts[:i+1], "."))
			}
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
