package image

import (
	"fmt"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Operating systems and architectures a platform may name: those of OCI
// image indexes in the wild (the GOOS/GOARCH values the image spec uses).
var (
	knownOS = []string{
		"aix", "android", "darwin", "dragonfly", "freebsd", "illumos", "ios",
		"linux", "netbsd", "openbsd", "plan9", "solaris", "windows",
	}
	knownArch = []string{
		"386", "amd64", "arm", "arm64", "loong64", "mips", "mips64",
		"mips64le", "mipsle", "ppc64", "ppc64le", "riscv64", "s390x", "wasm",
	}
	knownVariants = map[string][]string{
		"arm":   {"v5", "v6", "v7", "v8"},
		"arm64": {"v8", "v8.1", "v8.2", "v8.3", "v8.4", "v8.5", "v8.6", "v8.7", "v8.8", "v8.9", "v9", "v9.1", "v9.2", "v9.3", "v9.4", "v9.5"},
		"amd64": {"v1", "v2", "v3", "v4"},
	}
)

// ParsePlatform parses "os/arch" or "os/arch/variant", e.g. "linux/amd64"
// or "linux/arm/v7". The operating system, architecture and variant must
// be known ones; the result's String is the canonical form.
func ParsePlatform(s string) (v1.Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return v1.Platform{}, fmt.Errorf("%w %q: want os/arch or os/arch/variant", ErrInvalidPlatform, s)
	}
	p := v1.Platform{OS: parts[0], Architecture: parts[1]}
	if !slices.Contains(knownOS, p.OS) {
		return v1.Platform{}, fmt.Errorf("%w %q: unknown operating system %q", ErrInvalidPlatform, s, p.OS)
	}
	if !slices.Contains(knownArch, p.Architecture) {
		return v1.Platform{}, fmt.Errorf("%w %q: unknown architecture %q", ErrInvalidPlatform, s, p.Architecture)
	}
	if len(parts) == 3 {
		p.Variant = parts[2]
		if !slices.Contains(knownVariants[p.Architecture], p.Variant) {
			return v1.Platform{}, fmt.Errorf("%w %q: unknown variant %q of %s", ErrInvalidPlatform, s, p.Variant, p.Architecture)
		}
	}
	return p, nil
}

// ParsePlatforms parses a comma-separated list such as
// "linux/amd64,linux/arm64". Spaces around items are ignored; an empty item
// or a platform given twice is an error. An empty string gives nil, which
// means "every platform of the base".
func ParsePlatforms(s string) ([]v1.Platform, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []v1.Platform
	for item := range strings.SplitSeq(s, ",") {
		p, err := ParsePlatform(strings.TrimSpace(item))
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(out, func(q v1.Platform) bool { return q.Equals(p) }) {
			return nil, fmt.Errorf("%w %q: given twice", ErrInvalidPlatform, p.String())
		}
		out = append(out, p)
	}
	return out, nil
}

// platformMatches reports whether a platform from a base index satisfies a
// requested one. A request without a variant accepts any variant.
func platformMatches(want, have v1.Platform) bool {
	if want.OS != have.OS || want.Architecture != have.Architecture {
		return false
	}
	return want.Variant == "" || want.Variant == have.Variant ||
		(want.Architecture == "arm64" && want.Variant == "v8" && have.Variant == "")
}

// platformString is Platform.String without the OS version and features
// that some indexes carry.
func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}
