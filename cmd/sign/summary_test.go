package main

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/fxplatform/deploy-actions/cmd/internal/signing"
	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/sign"
)

// TestSummary compares the step summary with testdata/summary-*.md.
func TestSummary(t *testing.T) {
	image, err := name.NewDigest("ghcr.io/acme/fx-platform@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	sigRef := "ghcr.io/acme/fx-platform:sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig"
	attRef := "ghcr.io/acme/fx-platform:sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.att"
	tests := []struct {
		name     string
		in       Inputs
		res, att *sign.Result
		blobs    []signedBlob
		golden   string
	}{
		{
			name: "key, image with attestations", golden: "summary-key.md",
			in:  Inputs{Image: image, Signing: signing.Group{Key: "cosign.key"}},
			res: &sign.Result{SignatureRef: sigRef},
			att: &sign.Result{AttestationRef: attRef, PredicateTypes: []string{sign.PredicateSLSAProvenance1, sign.PredicateCycloneDX, sign.PredicateVuln}},
		},
		{
			name: "keyless, image and blobs, in Rekor", golden: "summary-keyless.md",
			in:  Inputs{Image: image, Signing: signing.Group{Keyless: true}},
			res: &sign.Result{SignatureRef: sigRef, LogIndexes: []int64{1001}},
			att: &sign.Result{AttestationRef: attRef, PredicateTypes: []string{sign.PredicateSLSAProvenance1}, LogIndexes: []int64{1002}},
			blobs: []signedBlob{
				{path: "dist/checksums.txt", bundle: "dist/checksums.txt.sigstore.json", res: &sign.BlobResult{LogIndexes: []int64{1003}}},
				{path: "dist/app.spdx.json", bundle: "dist/app.spdx.json.sigstore.json", res: &sign.BlobResult{LogIndexes: []int64{1004}}},
			},
		},
		{
			name: "key, blobs only", golden: "summary-blobs.md",
			in:  Inputs{Signing: signing.Group{Key: "cosign.key"}},
			res: &sign.Result{}, att: &sign.Result{},
			blobs: []signedBlob{{path: "checksums.txt", bundle: "checksums.txt.sigstore.json", res: &sign.BlobResult{}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			actiontest.CheckGolden(t, tc.golden, summary(tc.in, tc.res, tc.att, tc.blobs))
		})
	}
}
