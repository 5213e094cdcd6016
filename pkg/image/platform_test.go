package image

import (
	"errors"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestParsePlatform(t *testing.T) {
	tests := []struct {
		in   string
		want v1.Platform
		ok   bool
	}{
		{"linux/amd64", v1.Platform{OS: "linux", Architecture: "amd64"}, true},
		{"linux/arm64", v1.Platform{OS: "linux", Architecture: "arm64"}, true},
		{"linux/arm/v7", v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, true},
		{"linux/arm64/v8", v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, true},
		{"windows/amd64", v1.Platform{OS: "windows", Architecture: "amd64"}, true},
		{"linux", v1.Platform{}, false},
		{"linux/", v1.Platform{}, false},
		{"/amd64", v1.Platform{}, false},
		{"linux/amd64/v7", v1.Platform{}, false},
		{"linux/x86_64", v1.Platform{}, false},
		{"Linux/amd64", v1.Platform{}, false},
		{"plan10/amd64", v1.Platform{}, false},
		{"linux/arm/v7/extra", v1.Platform{}, false},
		{" linux/amd64", v1.Platform{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePlatform(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("ParsePlatform(%q) error = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidPlatform) {
				t.Errorf("error %v is not ErrInvalidPlatform", err)
			}
			if !got.Equals(tc.want) {
				t.Errorf("ParsePlatform(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParsePlatforms(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		ok       bool
	}{
		{"empty means the base's", "", nil, true},
		{"blank means the base's", "  ", nil, true},
		{"two", "linux/amd64,linux/arm64", []string{"linux/amd64", "linux/arm64"}, true},
		{"spaces", " linux/amd64 , linux/arm/v7 ", []string{"linux/amd64", "linux/arm/v7"}, true},
		{"empty item", "linux/amd64,,linux/arm64", nil, false},
		{"trailing comma", "linux/amd64,", nil, false},
		{"duplicate", "linux/amd64,linux/amd64", nil, false},
		{"unknown", "linux/amd64,linux/sparc", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePlatforms(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("ParsePlatforms(%q) error = %v, want ok=%v", tc.in, err, tc.ok)
			}
			var names []string
			for _, p := range got {
				names = append(names, platformString(p))
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("ParsePlatforms(%q) = %q, want %q", tc.in, names, tc.want)
			}
		})
	}
}

// FuzzParsePlatforms checks that what parses prints back to itself and
// parses again to the same platforms.
func FuzzParsePlatforms(f *testing.F) {
	for _, s := range []string{"linux/amd64", "linux/amd64,linux/arm64", "linux/arm/v7", "windows/amd64, linux/386", ",", "a/b/c/d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParsePlatforms(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidPlatform) {
				t.Fatalf("ParsePlatforms(%q): error %v is not ErrInvalidPlatform", s, err)
			}
			return
		}
		for _, p := range ps {
			again, err := ParsePlatform(platformString(p))
			if err != nil || !again.Equals(p) {
				t.Fatalf("ParsePlatforms(%q) gave %+v, which reparses as %+v, %v", s, p, again, err)
			}
		}
	})
}

func TestPlatformMatches(t *testing.T) {
	p := func(s string) v1.Platform { pl, _ := ParsePlatform(s); return pl }
	tests := []struct {
		name       string
		want, have v1.Platform
		match      bool
	}{
		{"same", p("linux/amd64"), p("linux/amd64"), true},
		{"other arch", p("linux/amd64"), p("linux/arm64"), false},
		{"any variant", p("linux/arm"), p("linux/arm/v7"), true},
		{"other variant", p("linux/arm/v6"), p("linux/arm/v7"), false},
		{"arm64 v8 is plain arm64", p("linux/arm64/v8"), p("linux/arm64"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := platformMatches(tc.want, tc.have); got != tc.match {
				t.Errorf("platformMatches(%v, %v) = %v, want %v", tc.want, tc.have, got, tc.match)
			}
		})
	}
}
