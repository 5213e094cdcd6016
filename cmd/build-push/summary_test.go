package main

import (
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/image"
)

func hash(hex string) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: strings.Repeat(hex, 64/len(hex))}
}

// TestSummary compares the step summary with testdata/summary-*.md.
func TestSummary(t *testing.T) {
	base := image.Layer{Digest: hash("b"), Size: 3 << 20, FromBase: true}
	app := image.Layer{Digest: hash("c"), Size: 4096, Uploaded: true, Files: 3}
	tests := []struct {
		name   string
		res    *image.Result
		took   time.Duration
		golden string
	}{
		{
			name: "pushed, two platforms", golden: "summary-pushed.md", took: 4321 * time.Millisecond,
			res: &image.Result{
				Repository: "ghcr.io/acme/fx-platform", Digest: hash("a"), ImageRef: "ghcr.io/acme/fx-platform@" + hash("a").String(),
				Tags: []string{"1.2.3", "1.2", "1", "latest", "sha-0123456"},
				Images: []image.PlatformImage{
					{Platform: "linux/amd64", Digest: hash("1"), Layers: []image.Layer{base, app}},
					{Platform: "linux/arm64", Digest: hash("2"), Layers: []image.Layer{base, {Digest: hash("c"), Size: 4096, Files: 3}}},
				},
				Size: 6<<20 + 8192, BytesUploaded: 5000,
				Timings: image.Timings{Build: 120 * time.Millisecond, Layers: 1500 * time.Millisecond, Push: 2701 * time.Millisecond},
			},
		},
		{
			name: "OCI layout, no tags, no layers", golden: "summary-layout.md", took: 250 * time.Millisecond,
			res: &image.Result{
				Repository: "/tmp/layout", Digest: hash("d"),
				Images: []image.PlatformImage{{Platform: "linux/amd64", Digest: hash("e")}},
				Size:   1234, Timings: image.Timings{Build: 50 * time.Millisecond, Push: 200 * time.Millisecond},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			actiontest.CheckGolden(t, tc.golden, summary(tc.res, tc.took))
		})
	}
}
