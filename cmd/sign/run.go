package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/image"
	"github.com/fxplatform/deploy-actions/pkg/report"
	"github.com/fxplatform/deploy-actions/pkg/sign"
)

// Inputs are sign's inputs, parsed and checked.
type Inputs struct {
	Image            name.Digest
	Key              string
	KeyPassword      string
	Keyless          bool
	FulcioURL        string
	RekorURL         string
	TlogUpload       bool
	AttestSBOM       []byte
	AttestScan       []byte
	AttestProvenance bool
	Build            sign.BuildContext
	OIDC             sign.GitHubOIDC
	Credentials      image.Credentials
	Insecure         []string
}

func parseInputs(a *action.Action) (Inputs, error) {
	in := a.Inputs()
	var i Inputs
	var opts []name.Option
	i.Insecure, opts = in.Insecure("insecure-registries", "image")
	i.Image = in.Digest("image", opts...)
	i.Key = in.String("key")
	i.KeyPassword = in.String("key-password")
	i.Keyless = in.Bool("keyless")
	switch {
	case i.Key != "" && i.Keyless:
		in.Fail("keyless", "give key or keyless: true, not both")
	case i.Key == "" && !i.Keyless:
		in.Fail("key", "is required unless keyless is true")
	case i.Key != "":
		if _, err := sign.ClassifyKey(i.Key); err != nil {
			in.Fail("key", "%v", err)
		}
	}
	i.FulcioURL = checkURL(in, "fulcio-url", i.Keyless)
	i.TlogUpload = in.Bool("tlog-upload")
	i.RekorURL = checkURL(in, "rekor-url", i.TlogUpload)
	if i.Keyless && !i.TlogUpload {
		in.Fail("tlog-upload", "keyless signatures must go to the transparency log (the certificate expires in minutes)")
	}
	if i.Keyless {
		i.OIDC = sign.GitHubOIDC{RequestURL: a.Getenv("ACTIONS_ID_TOKEN_REQUEST_URL"), RequestToken: a.Getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")}
		if i.OIDC.RequestURL == "" || i.OIDC.RequestToken == "" {
			in.Fail("keyless", "no GitHub OIDC token available (ACTIONS_ID_TOKEN_REQUEST_URL unset): give the job permissions: id-token: write")
		}
	}
	i.AttestSBOM = readFile(in, "attest-sbom")
	i.AttestScan = readFile(in, "attest-scan")
	i.AttestProvenance = in.Bool("attest-provenance")
	i.Build = sign.BuildContext{
		ServerURL: a.Getenv("GITHUB_SERVER_URL"), Repository: a.Getenv("GITHUB_REPOSITORY"),
		SHA: a.Getenv("GITHUB_SHA"), Ref: a.Getenv("GITHUB_REF"), WorkflowRef: a.Getenv("GITHUB_WORKFLOW_REF"),
		RunID: a.Getenv("GITHUB_RUN_ID"), RunAttempt: a.Getenv("GITHUB_RUN_ATTEMPT"), EventName: a.Getenv("GITHUB_EVENT_NAME"),
	}
	if i.AttestProvenance {
		if err := i.Build.Validate(); err != nil {
			in.Fail("attest-provenance", "%v (set by the GitHub runner; set attest-provenance: false outside it)", err)
		}
	}
	i.Credentials = image.CredentialsFromInputs(a, in, i.Image.RegistryStr())
	return i, in.Err()
}

func checkURL(in *action.Inputs, input string, needed bool) string {
	v := in.String(input)
	if !needed {
		return v
	}
	if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		in.Fail(input, "%q is not an http(s) URL", v)
	}
	return v
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
	signer, err := in.signer(ctx, a)
	if err != nil {
		return err
	}
	opts := sign.Options{Remote: []remote.Option{
		remote.WithAuthFromKeychain(image.NewKeychain(in.Credentials, authn.DefaultKeychain)),
		remote.WithContext(ctx),
	}}
	if in.TlogUpload {
		opts.Log = &sign.Rekor{URL: in.RekorURL}
	}
	res, err := sign.Sign(ctx, in.Image, signer, opts)
	if err != nil {
		return err
	}
	a.Infof("Signed %s: %s", in.Image, res.SignatureRef)
	att, err := sign.Attest(ctx, in.Image, signer, statements, opts)
	if err != nil {
		return err
	}
	if err := errors.Join(
		a.SetOutput("signature-ref", res.SignatureRef),
		a.SetOutput("attestations", strings.Join(att.PredicateTypes, "\n")),
	); err != nil {
		return err
	}
	return a.AddSummary(summary(in, res, att))
}

func (i Inputs) signer(ctx context.Context, a *action.Action) (sign.Signer, error) {
	if !i.Keyless {
		sv, err := sign.LoadSigner(ctx, i.Key, []byte(i.KeyPassword))
		if err != nil {
			return sign.Signer{}, &action.InputError{Input: "key", Err: err}
		}
		return sign.Signer{SignerVerifier: sv}, nil
	}
	token, err := i.OIDC.Token(ctx)
	if err != nil {
		return sign.Signer{}, err
	}
	a.Mask(token)
	return sign.Keyless(ctx, i.FulcioURL, token)
}

func summary(i Inputs, res, att *sign.Result) string {
	mode := "key"
	if i.Keyless {
		mode = "keyless (Fulcio certificate)"
	}
	rows := [][]string{
		{"image", report.Code(i.Image.String())},
		{"signed with", mode},
		{"signature", report.Code(res.SignatureRef)},
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
	return "### sign\n\n" + report.Table([]string{"", ""}, rows)
}
