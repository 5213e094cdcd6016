package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/fxplatform/deploy-actions/cmd/internal/registry"
	"github.com/fxplatform/deploy-actions/cmd/internal/signing"
	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/image"
	"github.com/fxplatform/deploy-actions/pkg/report"
	"github.com/fxplatform/deploy-actions/pkg/sign"
)

// Inputs are sign's inputs, parsed and checked.
type Inputs struct {
	Image            name.Digest // zero when only blobs are signed
	Blobs            []string
	Signing          signing.Group
	AttestSBOM       []byte
	AttestScan       []byte
	AttestProvenance bool
	Build            sign.BuildContext
	// Registry is how signatures and attestations are written.
	Registry image.Remote
}

func parseInputs(a *action.Action) (Inputs, error) {
	in := a.Inputs()
	var i Inputs
	_, opts := in.Insecure("insecure-registries", "image")
	i.Image = in.Digest("image", opts...)
	i.Blobs = checkBlobs(in)
	if in.String("image") == "" && len(i.Blobs) == 0 {
		in.Fail("image", "give image, blobs or both: there is nothing to sign")
	}
	i.Signing = signing.Parse(a, in)
	i.AttestSBOM = readFile(in, "attest-sbom")
	i.AttestScan = readFile(in, "attest-scan")
	i.AttestProvenance = in.Bool("attest-provenance")
	if in.String("image") == "" {
		// Attestations are about an image; a file's bundle has none.
		for _, input := range []string{"attest-sbom", "attest-scan"} {
			if in.String(input) != "" {
				in.Fail(input, "attestations are attached to an image: give image, or drop %s", input)
			}
		}
		i.AttestProvenance = false
	}
	gh, err := a.Context()
	if err != nil {
		return i, err
	}
	i.Build = sign.BuildContext{
		ServerURL: gh.ServerURL, Repository: gh.Repository, SHA: gh.SHA, Ref: gh.Ref,
		// go-githubactions' context has no workflow ref.
		WorkflowRef: a.Getenv("GITHUB_WORKFLOW_REF"),
		RunID:       runNumber(gh.RunID), RunAttempt: runNumber(gh.RunAttempt), EventName: gh.EventName,
	}
	if i.AttestProvenance {
		if err := i.Build.Validate(); err != nil {
			in.Fail("attest-provenance", "%v (set by the GitHub runner; set attest-provenance: false outside it)", err)
		}
	}
	host := ""
	if i.signsImage() {
		host = i.Image.RegistryStr()
	}
	i.Registry = registry.Parse(a, in, host).Remote(a)
	return i, in.Err()
}

// runNumber writes a run id or attempt, "" when the runner gave none.
func runNumber(n int64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

func (i Inputs) signsImage() bool { return i.Image.DigestStr() != "" }

// checkBlobs reads the blobs input: every path must be a regular file,
// named once. All the problems go in one error.
func checkBlobs(in *action.Inputs) []string {
	paths := in.Lines("blobs")
	var problems []string
	seen := map[string]bool{}
	for _, p := range paths {
		clean := filepath.Clean(p)
		if seen[clean] {
			problems = append(problems, fmt.Sprintf("%q is listed twice", p))
			continue
		}
		seen[clean] = true
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			problems = append(problems, err.Error())
		case !fi.Mode().IsRegular():
			problems = append(problems, fmt.Sprintf("%q is not a file", p))
		}
	}
	if len(problems) > 0 {
		in.Fail("blobs", "%s", strings.Join(problems, "; "))
	}
	return paths
}

func readFile(in *action.Inputs, input string) []byte {
	p := in.String(input)
	if p == "" {
		return nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		in.Fail(input, "%v", err)
	}
	return data
}

// statements are the attestations asked for, all about in.Image.
func (i Inputs) statements(started time.Time) ([]sign.Statement, error) {
	var out []sign.Statement
	if i.AttestProvenance {
		b := i.Build
		b.StartedOn, b.FinishedOn = started, time.Now()
		st, err := sign.Provenance(i.Image, b)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	if i.AttestSBOM != nil {
		st, err := sign.SBOMStatement(i.Image, i.AttestSBOM)
		if err != nil {
			return nil, &action.InputError{Input: "attest-sbom", Err: err}
		}
		out = append(out, st)
	}
	if i.AttestScan != nil {
		st, err := sign.VulnStatement(i.Image, sign.ScanResult{
			ScannerURI: "https://github.com/fxplatform/deploy-actions/scan", ScannerVersion: "v1",
			DBURI: "https://osv.dev", Result: i.AttestScan, StartedOn: started, FinishedOn: time.Now(),
		})
		if err != nil {
			return nil, &action.InputError{Input: "attest-scan", Err: err}
		}
		out = append(out, st)
	}
	return out, nil
}

func run(ctx context.Context, a *action.Action) error {
	started := time.Now()
	in, err := parseInputs(a)
	if err != nil {
		return err
	}
	statements, err := in.statements(started)
	if err != nil {
		return err
	}
	signer, err := in.Signing.Signer(ctx, a)
	if err != nil {
		return err
	}
	opts := in.Signing.Options(in.Registry)
	res, att := &sign.Result{}, &sign.Result{}
	if in.signsImage() {
		if res, err = sign.Sign(ctx, in.Image, signer, opts); err != nil {
			return err
		}
		a.Infof("Signed %s: %s", in.Image, res.SignatureRef)
		if att, err = sign.Attest(ctx, in.Image, signer, statements, opts); err != nil {
			return err
		}
	}
	blobs, err := signBlobs(ctx, a, in.Blobs, signer, opts)
	if err != nil {
		return err
	}
	var bundles []string
	for _, b := range blobs {
		bundles = append(bundles, b.bundle)
	}
	if err := a.SetOutputs(
		"signature-ref", res.SignatureRef,
		"attestations", strings.Join(att.PredicateTypes, "\n"),
		"bundles", strings.Join(bundles, "\n"),
	); err != nil {
		return err
	}
	return a.AddSummary(summary(in, res, att, blobs))
}

// signedBlob is a file signed and where its bundle went.
type signedBlob struct {
	path, bundle string
	res          *sign.BlobResult
}

// signBlobs signs each file and writes its bundle beside it.
func signBlobs(ctx context.Context, a *action.Action, paths []string, signer sign.Signer, opts sign.Options) ([]signedBlob, error) {
	var out []signedBlob
	for _, p := range paths {
		res, err := sign.SignBlob(ctx, p, signer, opts)
		if err != nil {
			return nil, err
		}
		bundle := p + sign.BundleSuffix
		if err := os.WriteFile(bundle, res.Bundle, 0o644); err != nil {
			return nil, fmt.Errorf("writing the bundle of %s: %w", p, err)
		}
		a.Infof("Signed %s (sha256:%x): %s", p, res.Digest, bundle)
		out = append(out, signedBlob{path: p, bundle: bundle, res: res})
	}
	return out, nil
}

func summary(i Inputs, res, att *sign.Result, blobs []signedBlob) string {
	rows := [][]string{{"signed with", i.Signing.Mode()}}
	if i.signsImage() {
		rows = append(rows, []string{"image", report.Code(i.Image.String())}, []string{"signature", report.Code(res.SignatureRef)})
	}
	if att.AttestationRef != "" {
		rows = append(rows, []string{"attestations", report.Code(att.AttestationRef)})
	}
	for _, pt := range att.PredicateTypes {
		rows = append(rows, []string{"predicate", report.Code(pt)})
	}
	for _, idx := range append(res.LogIndexes, att.LogIndexes...) {
		rows = append(rows, []string{"Rekor entry", fmt.Sprint(idx)})
	}
	for _, b := range blobs {
		rows = append(rows, []string{"file", report.Code(b.path)}, []string{"bundle", report.Code(b.bundle)})
		for _, idx := range b.res.LogIndexes {
			rows = append(rows, []string{"Rekor entry", fmt.Sprint(idx)})
		}
	}
	return "### sign\n\n" + report.Table([]string{"", ""}, rows)
}
