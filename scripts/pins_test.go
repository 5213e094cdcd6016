package scripts

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

// pinned is an image reference with a tag, for people, and the digest of
// the image, which decides what is pulled.
var pinned = regexp.MustCompile(`^[^@\s]+:[\w][\w.-]*@sha256:[0-9a-f]{64}$`)

// TestBaseImagesPinnedByDigest: the Dockerfile's base images and the
// release workflow's base are pinned by digest, as every `uses:` is pinned
// by commit, and the release's base is the Dockerfile's.
func TestBaseImagesPinnedByDigest(t *testing.T) {
	dockerfile, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	args := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^ARG (\w+_IMAGE)=(\S+)$`).FindAllStringSubmatch(string(dockerfile), -1) {
		args[m[1]] = m[2]
	}
	if len(args) != 2 || args["GO_IMAGE"] == "" || args["BASE_IMAGE"] == "" {
		t.Fatalf("Dockerfile image arguments %v, want GO_IMAGE and BASE_IMAGE", args)
	}
	release, err := os.ReadFile("../.github/workflows/release.yml")
	if err != nil {
		t.Fatal(err)
	}
	bases := regexp.MustCompile(`(?m)^\s+base: (\S+)$`).FindAllStringSubmatch(string(release), -1)
	if len(bases) == 0 {
		t.Fatal("release.yml has no base: input")
	}
	refs := map[string]string{}
	for k, v := range args {
		refs["Dockerfile "+k] = v
	}
	for _, b := range bases {
		refs["release.yml base"] = b[1]
		if b[1] != args["BASE_IMAGE"] {
			t.Errorf("release.yml's base %s is not the Dockerfile's BASE_IMAGE %s", b[1], args["BASE_IMAGE"])
		}
	}
	// Every FROM names a pinned argument, or an earlier stage; every COPY
	// --from an earlier stage.
	stages := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?mi)^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?`).FindAllStringSubmatch(string(dockerfile), -1) {
		from := m[1]
		if arg, ok := strings.CutPrefix(from, "${"); ok {
			if _, pinnedArg := args[strings.TrimSuffix(arg, "}")]; !pinnedArg {
				t.Errorf("Dockerfile: FROM %s is not one of the pinned image arguments", from)
			}
		} else if !stages[from] && !pinned.MatchString(from) {
			t.Errorf("Dockerfile: FROM %s is neither a pinned argument, a stage nor pinned by digest", from)
		}
		if m[2] != "" {
			stages[m[2]] = true
		}
	}
	for _, m := range regexp.MustCompile(`(?mi)^COPY\s+.*--from=(\S+)`).FindAllStringSubmatch(string(dockerfile), -1) {
		if !stages[m[1]] && !pinned.MatchString(m[1]) {
			t.Errorf("Dockerfile: COPY --from=%s is neither a stage nor pinned by digest", m[1])
		}
	}
	// The Go image is go.mod's Go: its images do not fetch another.
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	if goVersion == nil || !strings.HasPrefix(args["GO_IMAGE"], "golang:"+string(goVersion[1])+"-") && !strings.HasPrefix(args["GO_IMAGE"], "golang:"+string(goVersion[1])+"@") {
		t.Errorf("GO_IMAGE %s is not go.mod's Go %s", args["GO_IMAGE"], goVersion)
	}
	for where, ref := range refs {
		if !pinned.MatchString(ref) {
			t.Errorf("%s: %q is not pinned by digest (want name:tag@sha256:<64 hex>)", where, ref)
			continue
		}
		if _, err := name.NewDigest(ref); err != nil {
			t.Errorf("%s: %q: %v", where, ref, err)
		}
	}
}
