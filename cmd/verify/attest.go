package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/fxplatform/deploy-actions/cmd/internal/registry"
	"github.com/fxplatform/deploy-actions/cmd/internal/signing"
	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/image"
	"github.com/fxplatform/deploy-actions/pkg/sign"
	"github.com/fxplatform/deploy-actions/pkg/verify"
)

// Record is what attest asks for: the verification record of Image in
// Environment, signed as sign signs, written whether verify passed or not.
type Record struct {
	Image       name.Digest
	Environment string
	Signing     signing.Group
	Run         sign.WorkflowRun
	// Registry is how the record is written.
	Registry image.Remote
}

// parseRecord reads attest and the inputs that go with it; nil when attest
// is false, and then none of them may be given.
func parseRecord(a *action.Action, in *action.Inputs) *Record {
	attest, err := action.ParseBool(in.String("attest"))
	if err != nil {
		in.Fail("attest", "%v", err)
		return nil
	}
	if !attest {
		for _, input := range []string{"image", "environment", "key", "key-password"} {
			if in.String(input) != "" {
				in.Fail(input, "goes with attest: true (it is for the signed verification record); set attest: true, or drop %s", input)
			}
		}
		if in.Bool("keyless") {
			in.Fail("keyless", "goes with attest: true (it is for the signed verification record); set attest: true, or drop keyless")
		}
		return nil
	}
	var r Record
	_, opts := in.Insecure("insecure-registries", "image")
	if in.String("image") == "" {
		in.Fail("image", "is required with attest: the digest the record is about, repo@sha256:<64 hex>")
	}
	r.Image = in.Digest("image", opts...)
	r.Environment = in.String("environment")
	if r.Environment == "" {
		in.Fail("environment", "is required with attest: where the image was verified, e.g. staging")
	} else if err := sign.CheckEnvironment(r.Environment); err != nil {
		in.Fail("environment", "%v", err)
	}
	r.Signing = signing.Parse(a, in)
	gh, err := a.Context()
	if err != nil {
		in.Fail("attest", "%v", err)
	}
	r.Run, err = sign.NewWorkflowRun(sign.BuildContext{
		ServerURL: gh.ServerURL, Repository: gh.Repository, SHA: gh.SHA, Ref: gh.Ref,
		// go-githubactions' context has no workflow ref.
		WorkflowRef: a.Getenv("GITHUB_WORKFLOW_REF"),
		RunID:       runNumber(gh.RunID), RunAttempt: runNumber(gh.RunAttempt),
	})
	if err != nil {
		in.Fail("attest", "the record names the workflow run: %v (set by the GitHub runner; set attest: false outside it)", err)
	}
	r.Registry = registry.Parse(a, in, r.Image.RegistryStr()).Remote(a)
	return &r
}

// runNumber writes a run id or attempt, "" when the runner gave none.
func runNumber(n int64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

// statement is the verification record of rep.
func (r *Record) statement(rep *verify.Report) (sign.Statement, error) {
	v := sign.Verification{
		Environment: r.Environment, URL: rep.URL, Verdict: sign.VerdictFailed,
		StartedAt: rep.Started, VerifiedAt: rep.Finished, Failures: rep.Failures, Run: r.Run,
	}
	if rep.Passed {
		v.Verdict = sign.VerdictPassed
	}
	if d := rep.Deployment; d != nil {
		v.Deployment = d.Namespace + "/" + d.Name
	}
	for _, m := range rep.Measurements() {
		v.KPIs = append(v.KPIs, sign.KPI{Metric: m.Metric, Target: m.Target, Value: m.Value, Status: string(m.Outcome), Note: m.Note})
	}
	return sign.VerificationStatement(r.Image, v)
}

// sign signs the record of rep and attaches it to the image. A keyless
// signer is made now: its certificate lives minutes, verify may take
// longer; a key's signer was loaded before verify ran.
func (r *Record) sign(ctx context.Context, a *action.Action, signer sign.Signer, rep *verify.Report) (*sign.Result, error) {
	st, err := r.statement(rep)
	if err != nil {
		return nil, err
	}
	if r.Signing.Keyless {
		if signer, err = r.Signing.Signer(ctx, a); err != nil {
			return nil, fmt.Errorf("recording the verification: %w", err)
		}
	}
	res, err := sign.Attest(ctx, r.Image, signer, []sign.Statement{st}, r.Signing.Options(r.Registry))
	if err != nil {
		return nil, fmt.Errorf("recording the verification on %s: %w", r.Image, err)
	}
	return res, nil
}
