package sign_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/fxplatform/deploy-actions/pkg/sign"
)

var verifiedAt = time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC)

// verification is a record of staging as verify writes one.
func verification(t *testing.T, env, verdict string, at time.Time) sign.Verification {
	t.Helper()
	run, err := sign.NewWorkflowRun(buildContext)
	if err != nil {
		t.Fatal(err)
	}
	return sign.Verification{
		Environment: env, URL: "https://staging.example.com", Deployment: "staging/fx-platform",
		Verdict: verdict, StartedAt: at.Add(-2 * time.Minute), VerifiedAt: at,
		KPIs: []sign.KPI{
			{Metric: "Response Time (p95)", Target: "< 500 ms", Value: "41 ms", Status: sign.StatusPassed},
			{Metric: "Error Rate", Target: "< 0.1 %", Value: "0 % (0 of 1000)", Status: sign.StatusPassed},
		},
		Run: run,
	}
}

// TestVerificationStatement: the statement's JSON is the documented
// format, field for field (a change of name breaks every gate reading
// older records, so it is spelled out here, not derived).
func TestVerificationStatement(t *testing.T) {
	ref, err := name.NewDigest("ghcr.io/fxplatform/fx-platform@sha256:" + strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	v := verification(t, "staging", sign.VerdictFailed, verifiedAt.In(time.FixedZone("CET", 3600)))
	v.Failures = []string{"Error Rate is 2 % (20 of 1000), target < 0.1 %"}
	v.KPIs[1] = sign.KPI{Metric: "Error Rate", Target: "< 0.1 %", Value: "2 % (20 of 1000)", Status: sign.StatusFailed, Note: "warning level (> 1 %)"}
	st, err := sign.VerificationStatement(ref, v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.JSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "_type": "https://in-toto.io/Statement/v0.1",
  "predicateType": "https://fxplatform.github.io/deploy-actions/predicates/verification/v1",
  "subject": [{"name": "ghcr.io/fxplatform/fx-platform", "digest": {"sha256": "` + strings.Repeat("ab", 32) + `"}}],
  "predicate": {
    "environment": "staging",
    "url": "https://staging.example.com",
    "deployment": "staging/fx-platform",
    "verdict": "failed",
    "startedAt": "2026-12-01T10:28:00Z",
    "verifiedAt": "2026-12-01T10:30:00Z",
    "kpis": [
      {"metric": "Response Time (p95)", "target": "< 500 ms", "value": "41 ms", "status": "passed"},
      {"metric": "Error Rate", "target": "< 0.1 %", "value": "2 % (20 of 1000)", "status": "failed", "note": "warning level (> 1 %)"}
    ],
    "failures": ["Error Rate is 2 % (20 of 1000), target < 0.1 %"],
    "run": {
      "serverUrl": "https://github.com",
      "repository": "fxplatform/fx-platform",
      "runId": "4242",
      "runAttempt": "1",
      "workflowRef": "fxplatform/fx-platform/.github/workflows/release.yml@refs/tags/v1.2.3",
      "sha": "0123456789abcdef0123456789abcdef01234567",
      "ref": "refs/tags/v1.2.3",
      "url": "https://github.com/fxplatform/fx-platform/actions/runs/4242/attempts/1"
    }
  }
}`
	var gotJSON, wantJSON any
	if err := json.Unmarshal(got, &gotJSON); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &wantJSON); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotJSON, wantJSON) {
		t.Errorf("statement\n got %s\nwant %s", got, want)
	}
	if st.Annotations[sign.AnnotationEnvironment] != "staging" {
		t.Errorf("annotations %v, want the environment", st.Annotations)
	}
}

func TestVerificationStatementRefusesIncompleteRecords(t *testing.T) {
	ref, _ := name.NewDigest("ghcr.io/fx/app@sha256:" + strings.Repeat("a", 64))
	for _, tc := range []struct {
		name   string
		change func(*sign.Verification)
		want   string
	}{
		{"no environment", func(v *sign.Verification) { v.Environment = "" }, "no environment"},
		{"environment that is no name", func(v *sign.Verification) { v.Environment = "staging\nproduction" }, "not an environment name"},
		{"unknown verdict", func(v *sign.Verification) { v.Verdict = "ok" }, `verdict "ok"`},
		{"no time", func(v *sign.Verification) { v.VerifiedAt = time.Time{} }, "no verification time"},
		{"no run", func(v *sign.Verification) { v.Run = sign.WorkflowRun{} }, "no workflow run"},
		{"unknown KPI status", func(v *sign.Verification) { v.KPIs[0].Status = "✅" }, `status "✅"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := verification(t, "staging", sign.VerdictPassed, verifiedAt)
			tc.change(&v)
			if _, err := sign.VerificationStatement(ref, v); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one with %q", err, tc.want)
			}
		})
	}
	if _, err := sign.NewWorkflowRun(sign.BuildContext{ServerURL: "https://github.com"}); err == nil {
		t.Error("NewWorkflowRun accepts a context without a run")
	}
}

// TestVerificationGate: with verification required, only a digest whose
// newest staging record, verified under the policy's key, passed and is
// fresh gets through.
func TestVerificationGate(t *testing.T) {
	ctx := context.Background()
	repo := startRegistry(t) + "/fx/app"
	key, other := newKeyPair(t, "pw"), newKeyPair(t, "")
	now := verifiedAt.Add(3 * time.Hour)

	// attested is a signed image with records, each attached in order by
	// the key that signs it. Attest replaces the earlier record of the
	// same environment, unless keep: then both stay, as when two runs
	// write at once, and the newest must decide.
	type record struct {
		by      keyPair
		env     string
		verdict string
		at      time.Time
		keep    bool
	}
	attested := func(body string, records ...record) name.Digest {
		t.Helper()
		ref := pushImage(t, repo, strings.NewReplacer(" ", "-", ",", "").Replace(body), body)
		if _, err := sign.Sign(ctx, ref, key.signer(t), sign.Options{}); err != nil {
			t.Fatal(err)
		}
		for _, r := range records {
			st, err := sign.VerificationStatement(ref, verification(t, r.env, r.verdict, r.at))
			if err != nil {
				t.Fatal(err)
			}
			if r.keep {
				// The annotation is unsigned and only scopes replacement:
				// the gate reads the environment from the signed record.
				st.Annotations = map[string]string{sign.AnnotationEnvironment: r.env + "-kept"}
			}
			if _, err := sign.Attest(ctx, ref, r.by.signer(t), []sign.Statement{st}, sign.Options{}); err != nil {
				t.Fatal(err)
			}
		}
		return ref
	}
	fresh := now.Add(-time.Hour)
	passed := attested("passed", record{key, "staging", sign.VerdictPassed, fresh, false})
	cases := []struct {
		name   string
		ref    name.Digest
		policy sign.VerificationPolicy
		want   error
		detail string
	}{
		{"a fresh passing staging record passes", passed, sign.VerificationPolicy{}, nil, ""},
		{"no record is refused", attested("none"), sign.VerificationPolicy{}, sign.ErrAttestationMissing,
			`no verification record for environment "staging"`},
		{"a failed record is refused", attested("failed", record{key, "staging", sign.VerdictFailed, fresh, false}), sign.VerificationPolicy{},
			sign.ErrVerificationRefused, "staging verification verdict failed at 2026-12-01T12:30:00Z (https://github.com/fxplatform/fx-platform/actions/runs/4242/attempts/1)"},
		{"a record signed by another key is refused", attested("other key", record{other, "staging", sign.VerdictPassed, fresh, false}), sign.VerificationPolicy{},
			sign.ErrAttestationMissing, "verified by the policy's key or identity (1 attached: signed by another key or identity"},
		{"a record older than the limit is refused", passed, sign.VerificationPolicy{MaxAge: 30 * time.Minute},
			sign.ErrVerificationRefused, "staging verification is older than 30m: verified at 2026-12-01T12:30:00Z, 1h ago"},
		{"a record of another environment is refused", attested("production only", record{key, "production", sign.VerdictPassed, fresh, false}), sign.VerificationPolicy{},
			sign.ErrAttestationMissing, `no verification record for environment "staging" (the verified ones are for production)`},
		{"a record dated beyond the clock skew is refused", attested("future", record{key, "staging", sign.VerdictPassed, now.Add(10 * time.Minute), false}), sign.VerificationPolicy{},
			sign.ErrVerificationRefused, "10m ahead of this clock"},
		{"a record within the clock skew passes", attested("skewed", record{key, "staging", sign.VerdictPassed, now.Add(2 * time.Minute), false}), sign.VerificationPolicy{}, nil, ""},
		{"a failure replacing a pass is refused", attested("pass then fail", record{key, "staging", sign.VerdictPassed, fresh.Add(-time.Hour), false}, record{key, "staging", sign.VerdictFailed, fresh, false}),
			sign.VerificationPolicy{}, sign.ErrVerificationRefused, "verdict failed at 2026-12-01T12:30:00Z"},
		{"a newer failure beside an older pass is refused", attested("pass and fail", record{key, "staging", sign.VerdictPassed, fresh.Add(-time.Hour), false}, record{key, "staging", sign.VerdictFailed, fresh, true}),
			sign.VerificationPolicy{}, sign.ErrVerificationRefused, "verdict failed at 2026-12-01T12:30:00Z"},
		{"a newer pass beside an older failure passes", attested("fail and pass", record{key, "staging", sign.VerdictFailed, fresh.Add(-time.Hour), false}, record{key, "staging", sign.VerdictPassed, fresh, true}),
			sign.VerificationPolicy{}, nil, ""},
		{"another key's newer pass does not hide the key's own failure", attested("failed, and passed by another key", record{key, "staging", sign.VerdictFailed, fresh, false}, record{other, "staging", sign.VerdictPassed, fresh.Add(time.Minute), true}),
			sign.VerificationPolicy{}, sign.ErrVerificationRefused, "verdict failed at 2026-12-01T12:30:00Z"},
		{"production's record does not take staging's place", attested("staging then production", record{key, "staging", sign.VerdictPassed, fresh, false}, record{key, "production", sign.VerdictFailed, fresh.Add(time.Minute), false}),
			sign.VerificationPolicy{}, nil, ""},
		{"the required environment is the policy's", passed, sign.VerificationPolicy{Environment: "production"},
			sign.ErrAttestationMissing, `no verification record for environment "production" (the verified ones are for staging)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vp := tc.policy
			if vp.Environment == "" {
				vp.Environment = "staging"
			}
			if vp.MaxAge == 0 {
				vp.MaxAge = 24 * time.Hour
			}
			vp.Now = func() time.Time { return now }
			err := sign.Verify(ctx, tc.ref, sign.Policy{Key: string(key.Public), IgnoreTlog: true,
				Attestations: []string{"verification"}, Verification: vp})
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			var ve *sign.VerifyError
			if !errors.Is(err, tc.want) || !errors.As(err, &ve) {
				t.Fatalf("Verify = %v, want a *VerifyError for %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.detail) {
				t.Errorf("Verify = %v, want it to say %q", err, tc.detail)
			}
		})
	}
}

func TestVerificationPolicyValidate(t *testing.T) {
	pub := string(newKeyPair(t, "").Public)
	for _, tc := range []struct {
		name string
		p    sign.Policy
		want string // "" when valid
	}{
		{"required with its policy", sign.Policy{Key: pub, Attestations: []string{"verification"},
			Verification: sign.VerificationPolicy{Environment: "staging", MaxAge: time.Hour}}, ""},
		{"by URI", sign.Policy{Key: pub, Attestations: []string{sign.PredicateVerification},
			Verification: sign.VerificationPolicy{Environment: "staging", MaxAge: time.Hour}}, ""},
		{"no environment", sign.Policy{Key: pub, Attestations: []string{"verification"},
			Verification: sign.VerificationPolicy{MaxAge: time.Hour}}, "verify-verification-environment"},
		{"zero max age", sign.Policy{Key: pub, Attestations: []string{"verification"},
			Verification: sign.VerificationPolicy{Environment: "staging"}}, "verify-verification-max-age"},
		{"negative max age", sign.Policy{Key: pub, Attestations: []string{"verification"},
			Verification: sign.VerificationPolicy{Environment: "staging", MaxAge: -time.Hour}}, "verify-verification-max-age"},
		{"a policy without verification required", sign.Policy{Key: pub, Attestations: []string{"vuln"},
			Verification: sign.VerificationPolicy{Environment: "staging", MaxAge: time.Hour}}, "only with verification in verify-attestations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate = %v, want an error about %s", err, tc.want)
			}
		})
	}
}

func TestPredicateTypeOfVerification(t *testing.T) {
	got, err := sign.PredicateTypeOf("verification")
	if err != nil || got != sign.PredicateVerification {
		t.Errorf("PredicateTypeOf(verification) = %q, %v", got, err)
	}
}

// A passing record of another digest, signed by the key and copied onto
// this digest's attestations (the .att manifest, byte for byte): its
// subject is the other digest, so it is no record of this one.
func TestVerificationGateRefusesAnotherDigestsRecord(t *testing.T) {
	ctx := context.Background()
	repo := startRegistry(t) + "/fx/app"
	key := newKeyPair(t, "pw")
	at := time.Now().Add(-time.Minute)
	passed, failed := pushImage(t, repo, "passed", "passed"), pushImage(t, repo, "never-verified", "never verified")
	for _, ref := range []name.Digest{passed, failed} {
		if _, err := sign.Sign(ctx, ref, key.signer(t), sign.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := sign.VerificationStatement(passed, verification(t, "staging", sign.VerdictPassed, at))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Attest(ctx, passed, key.signer(t), []sign.Statement{st}, sign.Options{}); err != nil {
		t.Fatal(err)
	}
	attTag := func(d name.Digest) name.Tag {
		return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".att")
	}
	if err := crane.Copy(attTag(passed).String(), attTag(failed).String()); err != nil {
		t.Fatal(err)
	}
	policy := sign.Policy{Key: string(key.Public), IgnoreTlog: true, Attestations: []string{"verification"},
		Verification: sign.VerificationPolicy{Environment: "staging", MaxAge: time.Hour}}
	if err := sign.Verify(ctx, passed, policy); err != nil {
		t.Fatalf("the record's own digest: %v", err)
	}
	if err := sign.Verify(ctx, failed, policy); !errors.Is(err, sign.ErrAttestationMissing) {
		t.Errorf("another digest's record copied over: %v, want %v", err, sign.ErrAttestationMissing)
	}
}
