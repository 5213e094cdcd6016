package image

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
)

var (
	tagPattern     = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)
	hexPattern     = regexp.MustCompile(`^[0-9a-f]{7,}$`)
	pullRefPattern = regexp.MustCompile(`^refs/pull/([0-9]+)/(?:merge|head)$`)
	illegalTagRune = regexp.MustCompile(`[^A-Za-z0-9._-]+`)
)

// ValidateTag checks a tag against the OCI distribution grammar
// [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.
func ValidateTag(tag string) error {
	if !tagPattern.MatchString(tag) {
		return fmt.Errorf("%w %q: want [A-Za-z0-9_][A-Za-z0-9._-]{0,127}", ErrInvalidTag, tag)
	}
	return nil
}

// DefaultTags computes the tags of a build from GITHUB_REF and GITHUB_SHA:
//
//	refs/tags/v1.2.3          1.2.3, 1.2, 1, latest
//	refs/tags/v1.3.0-rc.1     1.3.0-rc.1 (a pre-release moves no alias)
//	refs/tags/nightly         nightly
//	refs/heads/main           main
//	refs/heads/feature/x      feature-x
//	refs/pull/42/merge        pr-42
//
// followed by sha-<first 7 hex digits of sha> when sha is given. An empty
// result is ErrNoTags.
func DefaultTags(ref, sha string) ([]string, error) {
	var tags []string
	switch {
	case strings.HasPrefix(ref, "refs/tags/"):
		name := strings.TrimPrefix(ref, "refs/tags/")
		if v := parseSemver(name); v != nil {
			tags = append(tags, sanitizeTag(strings.TrimPrefix(name, "v")))
			if v.Prerelease() == "" { // a release, not a pre-release
				tags = append(tags, fmt.Sprintf("%d.%d", v.Major(), v.Minor()), fmt.Sprint(v.Major()), "latest")
			}
		} else if t := sanitizeTag(name); t != "" {
			tags = append(tags, t)
		}
	case strings.HasPrefix(ref, "refs/heads/"):
		if t := sanitizeTag(strings.TrimPrefix(ref, "refs/heads/")); t != "" {
			tags = append(tags, t)
		}
	case pullRefPattern.MatchString(ref):
		tags = append(tags, "pr-"+pullRefPattern.FindStringSubmatch(ref)[1])
	}
	if sha != "" {
		sha = strings.ToLower(sha)
		if !hexPattern.MatchString(sha) {
			return nil, fmt.Errorf("%w: commit %q is not a hexadecimal SHA", ErrInvalidTag, sha)
		}
		tags = append(tags, "sha-"+sha[:7])
	}
	if len(tags) == 0 {
		return nil, fmt.Errorf("%w: ref %q and an empty commit SHA give none; give tags explicitly", ErrNoTags, ref)
	}
	return tags, nil
}

// RefVersion is the version a ref stands for, for the
// org.opencontainers.image.version label: "1.2.3" for refs/tags/v1.2.3,
// the sanitised name for other tags and branches, "pr-42" for pull
// requests, and "" otherwise.
func RefVersion(ref string) string {
	switch {
	case strings.HasPrefix(ref, "refs/tags/"):
		name := strings.TrimPrefix(ref, "refs/tags/")
		if parseSemver(name) != nil {
			name = strings.TrimPrefix(name, "v")
		}
		return sanitizeTag(name)
	case strings.HasPrefix(ref, "refs/heads/"):
		return sanitizeTag(strings.TrimPrefix(ref, "refs/heads/"))
	case pullRefPattern.MatchString(ref):
		return "pr-" + pullRefPattern.FindStringSubmatch(ref)[1]
	}
	return ""
}

// parseSemver reads a tag name as a semantic version (semver.org's
// grammar, strictly: three numbers), with an optional "v"; nil if it is
// not one.
func parseSemver(name string) *semver.Version {
	v, err := semver.StrictNewVersion(strings.TrimPrefix(name, "v"))
	if err != nil {
		return nil
	}
	return v
}

// sanitizeTag turns a git ref name into a valid tag: runs of illegal
// characters ("/", "+", ...) become "-", leading "." and "-" are dropped,
// and the result is cut to 128 characters. It returns "" when nothing is
// left.
func sanitizeTag(s string) string {
	s = illegalTagRune.ReplaceAllString(s, "-")
	s = strings.TrimLeft(s, ".-")
	if len(s) > 128 {
		s = strings.TrimRight(s[:128], ".-")
	}
	return s
}
