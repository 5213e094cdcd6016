package image

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestDefaultTags(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name, ref, sha string
		want           []string
		wantErr        error
	}{
		{"release tag", "refs/tags/v1.2.3", sha, []string{"1.2.3", "1.2", "1", "latest", "sha-0123456"}, nil},
		{"release tag without v", "refs/tags/2.0.0", sha, []string{"2.0.0", "2.0", "2", "latest", "sha-0123456"}, nil},
		{"pre-release moves no alias", "refs/tags/v1.3.0-rc.1", sha, []string{"1.3.0-rc.1", "sha-0123456"}, nil},
		{"pre-release with build metadata", "refs/tags/v1.3.0-beta+exp.sha.5114f85", sha, []string{"1.3.0-beta-exp.sha.5114f85", "sha-0123456"}, nil},
		{"release with build metadata", "refs/tags/v1.0.0+20130313144700", "", []string{"1.0.0-20130313144700", "1.0", "1", "latest"}, nil},
		{"zero major", "refs/tags/v0.1.0", sha, []string{"0.1.0", "0.1", "0", "latest", "sha-0123456"}, nil},
		{"leading zero is not semver", "refs/tags/v01.2.3", sha, []string{"v01.2.3", "sha-0123456"}, nil},
		{"two-part version is not semver", "refs/tags/v1.2", sha, []string{"v1.2", "sha-0123456"}, nil},
		{"other tag", "refs/tags/nightly", sha, []string{"nightly", "sha-0123456"}, nil},
		{"branch", "refs/heads/main", sha, []string{"main", "sha-0123456"}, nil},
		{"branch with slashes", "refs/heads/feature/login-form", sha, []string{"feature-login-form", "sha-0123456"}, nil},
		{"branch with odd characters", "refs/heads/fix/#42 über", sha, []string{"fix-42-ber", "sha-0123456"}, nil},
		{"branch starting with a dot", "refs/heads/.hidden", sha, []string{"hidden", "sha-0123456"}, nil},
		{"long branch is cut to 128", "refs/heads/" + strings.Repeat("a", 200), "", []string{strings.Repeat("a", 128)}, nil},
		{"pull request merge ref", "refs/pull/42/merge", sha, []string{"pr-42", "sha-0123456"}, nil},
		{"pull request head ref", "refs/pull/7/head", sha, []string{"pr-7", "sha-0123456"}, nil},
		{"upper-case sha", "refs/heads/main", "ABCDEF0123", []string{"main", "sha-abcdef0"}, nil},
		{"no ref", "", sha, []string{"sha-0123456"}, nil},
		{"unknown ref kind", "refs/notes/x", sha, []string{"sha-0123456"}, nil},
		{"nothing at all", "", "", nil, ErrNoTags},
		{"branch of only illegal characters", "refs/heads/%%%", "", nil, ErrNoTags},
		{"sha not hex", "refs/heads/main", "not-a-sha", nil, ErrInvalidTag},
		{"sha too short", "refs/heads/main", "abc", nil, ErrInvalidTag},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DefaultTags(tc.ref, tc.sha)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("DefaultTags(%q, %q) error = %v, want %v", tc.ref, tc.sha, err, tc.wantErr)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("DefaultTags(%q, %q) = %q, want %q", tc.ref, tc.sha, got, tc.want)
			}
			for _, tag := range got {
				if err := ValidateTag(tag); err != nil {
					t.Errorf("computed tag is invalid: %v", err)
				}
			}
		})
	}
}

func TestRefVersion(t *testing.T) {
	tests := []struct{ name, ref, want string }{
		{"release", "refs/tags/v1.2.3", "1.2.3"},
		{"pre-release", "refs/tags/v1.3.0-rc.1", "1.3.0-rc.1"},
		{"other tag", "refs/tags/nightly", "nightly"},
		{"branch", "refs/heads/feature/x", "feature-x"},
		{"pull request", "refs/pull/42/merge", "pr-42"},
		{"none", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := RefVersion(tc.ref); got != tc.want {
				t.Errorf("RefVersion(%q) = %q, want %q", tc.ref, got, tc.want)
			}
		})
	}
}

func TestValidateTag(t *testing.T) {
	tests := []struct {
		tag string
		ok  bool
	}{
		{"latest", true},
		{"1.2.3", true},
		{"_private", true},
		{"v1.0.0-rc.1_build", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"", false},
		{".hidden", false},
		{"-dash", false},
		{"has/slash", false},
		{"has:colon", false},
		{"has space", false},
		{"1.0+build", false},
		{"ümlaut", false},
	}
	for _, tc := range tests {
		t.Run(tc.tag, func(t *testing.T) {
			err := ValidateTag(tc.tag)
			if (err == nil) != tc.ok {
				t.Errorf("ValidateTag(%q) = %v, want ok=%v", tc.tag, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidTag) {
				t.Errorf("error %v is not ErrInvalidTag", err)
			}
		})
	}
}

// FuzzDefaultTags checks that whatever the ref, computed tags are valid.
func FuzzDefaultTags(f *testing.F) {
	for _, ref := range []string{"refs/tags/v1.2.3", "refs/tags/v1.3.0-rc.1+b", "refs/heads/a/b", "refs/pull/1/merge", ""} {
		f.Add(ref, "0123456789")
	}
	f.Fuzz(func(t *testing.T, ref, sha string) {
		tags, err := DefaultTags(ref, sha)
		if err != nil {
			return
		}
		if len(tags) == 0 {
			t.Fatalf("DefaultTags(%q, %q) gave no tags and no error", ref, sha)
		}
		for _, tag := range tags {
			if err := ValidateTag(tag); err != nil {
				t.Errorf("DefaultTags(%q, %q): %v", ref, sha, err)
			}
		}
	})
}
