package charts

import "testing"

func TestTagOf(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct{ ref, want string }{
		{"127.0.0.1:5000/app@" + digest, ""},
		{"127.0.0.1:5000/app:1.2.3@" + digest, "1.2.3"},
		{"ghcr.io/acme/app:v1@" + digest, "v1"},
	}
	for _, tc := range tests {
		if got := tagOf(tc.ref); got != tc.want {
			t.Errorf("tagOf(%q) = %q, want %q", tc.ref, got, tc.want)
		}
	}
}
