package scripts

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"sigs.k8s.io/yaml"
)

// pinned is an image reference with a tag, for people, and the digest of
// the image, which decides what is pulled.
var pinned = regexp.MustCompile(`^[^@\s]+:[\w][\w.-]*@sha256:[0-9a-f]{64}$`)

// pulls lists what BuildKit would pull to build a Dockerfile, read with
// BuildKit's own parser (so case, indentation and line continuations are
// what a build sees): the syntax frontend, every stage's base with the
// global ARG defaults expanded, COPY --from and RUN --mount from= images,
// and remote ADD sources without a checksum. args are the global ARG
// defaults, the last definition of a name winning as in a build.
func pulls(t *testing.T, df []byte) (refs []string, args map[string]string) {
	t.Helper()
	if syntax, _, _, ok := parser.DetectSyntax(df); ok {
		refs = append(refs, syntax)
	}
	ast, err := parser.Parse(bytes.NewReader(df))
	if err != nil {
		t.Fatal(err)
	}
	stages, metaArgs, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		t.Fatal(err)
	}
	args = map[string]string{}
	var env []string
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				args[kv.Key] = *kv.Value
				env = append(env, kv.Key+"="+*kv.Value)
			}
		}
	}
	lex := shell.NewLex('\\')
	stageNames := map[string]bool{}
	for _, s := range stages {
		base, _, err := lex.ProcessWord(s.BaseName, shell.EnvsFromSlice(env))
		if err != nil {
			t.Fatal(err)
		}
		if !stageNames[strings.ToLower(base)] {
			refs = append(refs, base)
		}
		for _, c := range s.Commands {
			switch c := c.(type) {
			case *instructions.RunCommand:
				for _, m := range instructions.GetMounts(c) {
					if m.From != "" && !stageNames[strings.ToLower(m.From)] {
						refs = append(refs, m.From)
					}
				}
			case *instructions.CopyCommand:
				if c.From != "" && !stageNames[strings.ToLower(c.From)] {
					refs = append(refs, c.From)
				}
			case *instructions.AddCommand:
				for _, src := range c.SourcePaths {
					if strings.Contains(src, "://") && c.Checksum == "" {
						refs = append(refs, "ADD "+src+" (no --checksum)")
					}
				}
			}
		}
		if s.Name != "" {
			stageNames[strings.ToLower(s.Name)] = true
		}
	}
	return refs, args
}

// releaseBases is every `base` input of a step in release.yml, read as
// YAML.
func releaseBases(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../.github/workflows/release.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				With map[string]any `json:"with"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, j := range wf.Jobs {
		for _, s := range j.Steps {
			if v, ok := s.With["base"]; ok {
				out = append(out, strings.TrimSpace(toString(v)))
			}
		}
	}
	return out
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := yaml.Marshal(v)
	return string(b)
}

// TestBaseImagesPinnedByDigest: everything the Dockerfile's build pulls,
// and the release workflow's base, is pinned by digest, as every `uses:` is
// pinned by commit; the release's base is the Dockerfile's; and GO_IMAGE is
// go.mod's Go (the official images do not fetch another: GOTOOLCHAIN=local).
func TestBaseImagesPinnedByDigest(t *testing.T) {
	df, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	refs, args := pulls(t, df)
	if len(refs) == 0 {
		t.Fatal("the Dockerfile pulls nothing: the test proves nothing")
	}
	bases := releaseBases(t)
	if len(bases) == 0 {
		t.Fatal("release.yml has no base: input")
	}
	for _, b := range bases {
		if b != args["BASE_IMAGE"] {
			t.Errorf("release.yml's base %q is not the Dockerfile's BASE_IMAGE %q", b, args["BASE_IMAGE"])
		}
	}
	for _, ref := range append(refs, bases...) {
		if !pinned.MatchString(ref) {
			t.Errorf("%q is not pinned by digest (want name:tag@sha256:<64 hex>)", ref)
			continue
		}
		if _, err := name.NewDigest(ref); err != nil {
			t.Errorf("%q: %v", ref, err)
		}
	}
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	if goVersion == nil || !regexp.MustCompile(`^golang:`+regexp.QuoteMeta(string(goVersion[1]))+`[-@]`).MatchString(args["GO_IMAGE"]) {
		t.Errorf("GO_IMAGE %q is not go.mod's Go %s", args["GO_IMAGE"], goVersion)
	}
}
