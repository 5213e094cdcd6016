package action

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseKeyValues(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []KeyValue
		wantErr string
	}{
		{name: "empty", in: ""},
		{name: "one", in: "A=1", want: []KeyValue{{"A", "1"}}},
		{name: "value keeps equals", in: "URL=a=b=c", want: []KeyValue{{"URL", "a=b=c"}}},
		{name: "blank and comment lines", in: "\n# note\nA=1\r\n\nB = two \n", want: []KeyValue{{"A", "1"}, {"B", "two"}}},
		{name: "empty value", in: "A=", want: []KeyValue{{"A", ""}}},
		{name: "no equals", in: "A", wantErr: `line 1: "A" is not KEY=VALUE`},
		{name: "empty key", in: "=x", wantErr: `key "" is empty`},
		{name: "space in key", in: "A B=x", wantErr: `key "A B"`},
		{name: "repeated", in: "A=1\nA=2", wantErr: `line 2: key "A" is given twice`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKeyValues(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseKeyValues(%q) error = %v, want %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseKeyValues(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseList(t *testing.T) {
	tests := []struct {
		name, in   string
		list, line []string
	}{
		{name: "empty", in: " \n "},
		{name: "commas", in: "a, b,,c", list: []string{"a", "b", "c"}, line: []string{"a, b,,c"}},
		{name: "newlines", in: "a\r\n b \n\nc", list: []string{"a", "b", "c"}, line: []string{"a", "b", "c"}},
		{name: "mixed", in: "linux/amd64,linux/arm64\nlinux/s390x", list: []string{"linux/amd64", "linux/arm64", "linux/s390x"}, line: []string{"linux/amd64,linux/arm64", "linux/s390x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseList(tc.in); !reflect.DeepEqual(got, tc.list) {
				t.Errorf("ParseList(%q) = %q, want %q", tc.in, got, tc.list)
			}
			if got := ParseLines(tc.in); !reflect.DeepEqual(got, tc.line) {
				t.Errorf("ParseLines(%q) = %q, want %q", tc.in, got, tc.line)
			}
		})
	}
}

func TestParseScalars(t *testing.T) {
	tests := []struct {
		name    string
		parse   func(string) (any, error)
		in      string
		want    any
		wantErr string
	}{
		{name: "bool true", parse: wrap(ParseBool), in: "TRUE", want: true},
		{name: "bool false", parse: wrap(ParseBool), in: "False", want: false},
		{name: "bool yes", parse: wrap(ParseBool), in: "yes", wantErr: `"yes" is not a boolean (allowed: true, false)`},
		{name: "duration", parse: wrap(ParseDuration), in: "1m30s", want: 90 * time.Second},
		{name: "duration zero", parse: wrap(ParseDuration), in: "0", want: time.Duration(0)},
		{name: "duration bad unit", parse: wrap(ParseDuration), in: "5x", wantErr: `"5x" is not a duration`},
		{name: "duration negative", parse: wrap(ParseDuration), in: "-1s", wantErr: "negative"},
		{name: "percent", parse: wrap(ParsePercent), in: "0.1%", want: 0.001},
		{name: "percent spaced", parse: wrap(ParsePercent), in: "25 %", want: 0.25},
		{name: "percent bare", parse: wrap(ParsePercent), in: "100", want: 1.0},
		{name: "percent above", parse: wrap(ParsePercent), in: "120%", wantErr: "120% is above 100%"},
		{name: "percent below", parse: wrap(ParsePercent), in: "-1%", wantErr: "below 0%"},
		{name: "percent NaN", parse: wrap(ParsePercent), in: "NaN%", wantErr: "not a percentage"},
		{name: "bytes", parse: wrap(ParseBytes), in: "2GiB", want: int64(2 << 30)},
		{name: "bytes decimal", parse: wrap(ParseBytes), in: "1 GB", want: int64(1e9)},
		{name: "bytes bare", parse: wrap(ParseBytes), in: "1048576", want: int64(1 << 20)},
		{name: "bytes unit B", parse: wrap(ParseBytes), in: "512B", want: int64(512)},
		{name: "bytes fraction", parse: wrap(ParseBytes), in: "1.5GiB", wantErr: `"1.5GiB" is not a size`},
		{name: "bytes negative", parse: wrap(ParseBytes), in: "-1MiB", wantErr: "not a size"},
		{name: "bytes overflow", parse: wrap(ParseBytes), in: "9000000TiB", wantErr: "not a size"},
		{name: "bytes unknown unit", parse: wrap(ParseBytes), in: "2G", wantErr: "not a size"},
		{name: "steps", parse: wrap(ParseSteps), in: "10, 25,50,100", want: []int{10, 25, 50, 100}},
		{name: "steps with percent", parse: wrap(ParseSteps), in: "50%,100%", want: []int{50, 100}},
		{name: "steps above", parse: wrap(ParseSteps), in: "10,110", wantErr: "110 is above 100"},
		{name: "steps zero", parse: wrap(ParseSteps), in: "0,100", wantErr: "0 is not above 0"},
		{name: "steps not increasing", parse: wrap(ParseSteps), in: "50,25", wantErr: "25 does not increase on 50"},
		{name: "steps fraction", parse: wrap(ParseSteps), in: "12.5", wantErr: `"12.5" is not a whole percentage`},
		{name: "steps empty", parse: wrap(ParseSteps), in: ",", wantErr: "has no steps"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.parse(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parse(%q) error = %v, want %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parse(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 1000: "1000B", 1024: "1KiB", 3 << 29: "1536MiB", 2 << 30: "2GiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
		if back, err := ParseBytes(FormatBytes(n)); err != nil || back != n {
			t.Errorf("ParseBytes(FormatBytes(%d)) = %d, %v", n, back, err)
		}
	}
}

func wrap[T any](f func(string) (T, error)) func(string) (any, error) {
	return func(s string) (any, error) { return f(s) }
}

func TestParseImageRefs(t *testing.T) {
	const dig = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name     string
		repo     bool // ParseRepository, else ParseDigest
		in, want string
		wantErr  string
	}{
		{name: "repo ghcr", repo: true, in: "ghcr.io/acme/fx-platform", want: "ghcr.io/acme/fx-platform"},
		{name: "repo local port", repo: true, in: "127.0.0.1:5000/app", want: "127.0.0.1:5000/app"},
		{name: "repo docker hub short", repo: true, in: "acme/app", want: "index.docker.io/acme/app"},
		{name: "repo with tag", repo: true, in: "ghcr.io/acme/app:v1", wantErr: "names a tag or digest"},
		{name: "repo upper case", repo: true, in: "ghcr.io/Acme/App", wantErr: "is not an image repository"},
		{name: "repo garbage", repo: true, in: "a b", wantErr: "is not an image repository"},
		{name: "digest", in: "ghcr.io/acme/app@" + dig, want: "ghcr.io/acme/app@" + dig},
		{name: "digest with tag", in: "ghcr.io/acme/app:v1@" + dig, want: "ghcr.io/acme/app:v1@" + dig},
		{name: "tag only", in: "ghcr.io/acme/app:v1", wantErr: "is not pinned by digest"},
		{name: "short digest", in: "ghcr.io/acme/app@sha256:abc", wantErr: "is not a valid repo@sha256"},
		// What ggcr's parser lets through, and only the network refused.
		{name: "file URL digest", in: "file:///etc/passwd@" + dig, wantErr: "is a URL, not an image reference"},
		{name: "metadata service URL digest", in: "http://169.254.169.254/x@" + dig, wantErr: "is a URL, not an image reference"},
		{name: "https URL repo", repo: true, in: "https://ghcr.io/acme/app", wantErr: "is a URL"},
		{name: "empty path segment", repo: true, in: "127.0.0.1:5599//x", wantErr: "has an empty path segment"},
		{name: "empty path segment in a digest", in: "ghcr.io//app@" + dig, wantErr: "has an empty path segment"},
		{name: "leading slash", repo: true, in: "/acme/app", wantErr: "has an empty path segment"},
		{name: "trailing slash", in: "ghcr.io/acme/@" + dig, wantErr: "has an empty path segment"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			var err error
			if tc.repo {
				var r interface{ String() string }
				r, err = ParseRepository(tc.in)
				got = r.String()
			} else {
				var d interface{ String() string }
				d, err = ParseDigest(tc.in)
				got = d.String()
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parse(%q) error = %v, want %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("parse(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzParseKeyValues(f *testing.F) {
	for _, s := range []string{"A=1", "A=1\nB=2=3", "# c\n\nA=", "=", "A\nA=1", "A=1\r\nA=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kvs, err := ParseKeyValues(s)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, kv := range kvs {
			if kv.Key == "" || strings.ContainsAny(kv.Key, " \t\n\r") {
				t.Fatalf("bad key %q from %q", kv.Key, s)
			}
			if seen[kv.Key] {
				t.Fatalf("key %q twice from %q", kv.Key, s)
			}
			seen[kv.Key] = true
			if strings.ContainsAny(kv.Value, "\n") {
				t.Fatalf("value %q spans lines", kv.Value)
			}
		}
	})
}

func FuzzParseList(f *testing.F) {
	for _, s := range []string{"a,b", "a\nb,c", " , \n", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, item := range ParseList(s) {
			if item == "" || item != strings.TrimSpace(item) || strings.ContainsAny(item, ",\n\r") {
				t.Fatalf("bad item %q from %q", item, s)
			}
		}
		for _, item := range ParseLines(s) {
			if item == "" || strings.ContainsAny(item, "\n\r") {
				t.Fatalf("bad line %q from %q", item, s)
			}
		}
	})
}

func FuzzParseImageRef(f *testing.F) {
	for _, s := range []string{"ghcr.io/a/b", "a/b:c", "localhost:5000/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "@", ":", "a//b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if repo, err := ParseRepository(s); err == nil {
			// A repository round-trips and carries no tag or digest.
			again, err := ParseRepository(repo.String())
			if err != nil || again.String() != repo.String() {
				t.Fatalf("repository %q -> %q does not round-trip: %v", s, repo.String(), err)
			}
			if strings.Contains(repo.RepositoryStr(), "@") {
				t.Fatalf("repository %q keeps a digest", s)
			}
		}
		if d, err := ParseDigest(s); err == nil {
			if !strings.HasPrefix(d.DigestStr(), "sha256:") || len(d.DigestStr()) != len("sha256:")+64 {
				t.Fatalf("digest %q from %q", d.DigestStr(), s)
			}
		}
	})
}
