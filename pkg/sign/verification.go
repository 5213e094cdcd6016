package sign

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// PredicateVerification is the predicate type of verify's records: an
// image digest was verified in an environment, with this verdict. Its
// short name is verification.
const PredicateVerification = "https://fxplatform.github.io/deploy-actions/predicates/verification/v1"

// AnnotationEnvironment is written beside predicateType on a verification
// attestation's layer. It is not signed and the gate never reads it: it
// lets a record replace only the earlier one of the same environment, so
// production's record does not take the place of staging's.
const AnnotationEnvironment = "io.github.fxplatform.deploy-actions.environment"

// Verdicts of a verification.
const (
	VerdictPassed = "passed"
	VerdictFailed = "failed"
)

// Statuses of one KPI in a verification.
const (
	StatusPassed       = "passed"       // met
	StatusWarning      = "warning"      // met, but at the strategy's warning or critical level
	StatusFailed       = "failed"       // missed, or not measured
	StatusInconclusive = "inconclusive" // too little data to judge: never a pass
)

// Verification is the verification/v1 predicate: what verify checked,
// where, what it measured and its verdict. The JSON field names are part
// of the predicate type: they stay as they are in v1 (see the README's
// "The verification predicate").
type Verification struct {
	// Environment is where the image ran when it was verified: staging,
	// production (a GitHub environment's name).
	Environment string `json:"environment"`
	// URL is the base URL verified; empty when verify checked only the
	// Deployment or Prometheus.
	URL string `json:"url"`
	// Deployment is the Deployment checked, namespace/name, if any.
	Deployment string `json:"deployment,omitempty"`
	// Verdict is passed or failed.
	Verdict string `json:"verdict"`
	// StartedAt and VerifiedAt bound the verification (UTC, RFC 3339);
	// a gate's maximum age is counted from VerifiedAt.
	StartedAt  time.Time `json:"startedAt"`
	VerifiedAt time.Time `json:"verifiedAt"`
	// KPIs are every check verify ran: health paths, the Deployment, the
	// load probe's SLOs, Prometheus checks.
	KPIs []KPI `json:"kpis"`
	// Failures say why a failed verification failed.
	Failures []string `json:"failures,omitempty"`
	// Run is the workflow run that verified.
	Run WorkflowRun `json:"run"`
}

// KPI is one check of a verification: what was measured against what.
type KPI struct {
	Metric string `json:"metric"` // Response Time (p95), Error Rate, Health /api/health, ...
	Target string `json:"target"` // < 500 ms
	Value  string `json:"value"`  // 41 ms
	Status string `json:"status"` // passed, warning, failed or inconclusive
	Note   string `json:"note,omitempty"`
}

// WorkflowRun names a GitHub Actions run, as the runner describes it.
type WorkflowRun struct {
	ServerURL   string `json:"serverUrl"`   // https://github.com
	Repository  string `json:"repository"`  // acme/app
	RunID       string `json:"runId"`       // 4242
	RunAttempt  string `json:"runAttempt"`  // 1
	WorkflowRef string `json:"workflowRef"` // acme/app/.github/workflows/release.yml@refs/tags/v1.2.3
	SHA         string `json:"sha"`         // the commit the run is for
	Ref         string `json:"ref,omitempty"`
	// URL is the run's page: <server>/<repository>/actions/runs/<id>/attempts/<n>.
	URL string `json:"url"`
}

// NewWorkflowRun describes the run b names; it needs what a provenance
// statement needs (server, repository, commit, workflow ref, run id).
func NewWorkflowRun(b BuildContext) (WorkflowRun, error) {
	if err := b.Validate(); err != nil {
		return WorkflowRun{}, err
	}
	attempt := b.RunAttempt
	if attempt == "" {
		attempt = "1"
	}
	server := strings.TrimSuffix(b.ServerURL, "/")
	return WorkflowRun{
		ServerURL: server, Repository: b.Repository, RunID: b.RunID, RunAttempt: attempt,
		WorkflowRef: b.WorkflowRef, SHA: b.SHA, Ref: b.Ref,
		URL: fmt.Sprintf("%s/%s/actions/runs/%s/attempts/%s", server, b.Repository, b.RunID, attempt),
	}, nil
}

// CheckEnvironment checks an environment name as records and policies
// hold it: a GitHub environment's name (letters, digits, and . _ - or
// space inside), at most 255 characters, compared exactly.
func CheckEnvironment(env string) error {
	if env == "" {
		return errors.New("no environment")
	}
	if !environmentName.MatchString(env) {
		return fmt.Errorf("%q is not an environment name (letters, digits, and . _ - or space inside, at most 255; e.g. staging)", env)
	}
	return nil
}

var environmentName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._ -]{0,253}[A-Za-z0-9._-])?$`)

// Validate reports what a verification record cannot do without.
func (v Verification) Validate() error {
	var problems []string
	if err := CheckEnvironment(v.Environment); err != nil {
		problems = append(problems, err.Error())
	}
	if v.Verdict != VerdictPassed && v.Verdict != VerdictFailed {
		problems = append(problems, fmt.Sprintf("verdict %q is neither %s nor %s", v.Verdict, VerdictPassed, VerdictFailed))
	}
	if v.VerifiedAt.IsZero() {
		problems = append(problems, "no verification time")
	}
	if v.Run.RunID == "" || v.Run.Repository == "" {
		problems = append(problems, "no workflow run")
	}
	for _, k := range v.KPIs {
		switch k.Status {
		case StatusPassed, StatusWarning, StatusFailed, StatusInconclusive:
		default:
			problems = append(problems, fmt.Sprintf("KPI %q has status %q", k.Metric, k.Status))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("verification record: %s", strings.Join(problems, "; "))
	}
	return nil
}

// VerificationStatement is the in-toto statement that ref was verified as
// v says. Times are written in UTC.
func VerificationStatement(ref name.Digest, v Verification) (Statement, error) {
	if err := v.Validate(); err != nil {
		return Statement{}, err
	}
	v.StartedAt, v.VerifiedAt = v.StartedAt.UTC(), v.VerifiedAt.UTC()
	if v.KPIs == nil {
		v.KPIs = []KPI{}
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return Statement{}, err
	}
	return Statement{Subject: ref, PredicateType: PredicateVerification, Predicate: raw,
		Annotations: map[string]string{AnnotationEnvironment: v.Environment}}, nil
}

// ErrVerificationRefused: the newest verified verification record for the
// environment does not meet the policy (failed, too old, or dated in the
// future).
var ErrVerificationRefused = errors.New("verification record refused by the policy")

// ClockSkew is how far past the gate's clock a record's time may lie:
// runners' clocks differ a little, not by hours.
const ClockSkew = 5 * time.Minute

// VerificationPolicy is what the gate asks of verification records when
// Policy.Attestations holds verification: among the records verified
// under the policy's key or identity for Environment, the newest must say
// passed and be at most MaxAge old.
type VerificationPolicy struct {
	Environment string
	MaxAge      time.Duration
	// Now is the gate's clock; nil is time.Now.
	Now func() time.Time
}

func (vp VerificationPolicy) isZero() bool { return vp.Environment == "" && vp.MaxAge == 0 }

func (vp VerificationPolicy) validate() error {
	if err := CheckEnvironment(vp.Environment); err != nil {
		return fmt.Errorf("verify-verification-environment: %w", err)
	}
	if vp.MaxAge <= 0 {
		return fmt.Errorf("verify-verification-max-age: %s is not above 0", vp.MaxAge)
	}
	return nil
}

// check judges the verification records verified under one key or
// identity: it returns nil, or the reason (ErrAttestationMissing or
// ErrVerificationRefused) and the detail. attached counts the
// verification records on the image, verified or not, for the message
// when none verified.
func (vp VerificationPolicy) check(verified []Verification, attached func() int) (reason, detail error) {
	now := time.Now
	if vp.Now != nil {
		now = vp.Now
	}
	var newest *Verification
	var others []string
	for i, v := range verified {
		if v.Environment != vp.Environment {
			others = append(others, v.Environment)
			continue
		}
		if newest == nil || v.VerifiedAt.After(newest.VerifiedAt) {
			newest = &verified[i]
		}
	}
	if newest == nil {
		msg := fmt.Sprintf("no verification record for environment %q", vp.Environment)
		if len(others) > 0 {
			msg += fmt.Sprintf(" (the verified ones are for %s)", strings.Join(dedupe(others), ", "))
		} else if n := attached(); n > 0 {
			msg += fmt.Sprintf(" verified by the policy's key or identity (%d attached: signed by another key or identity, or about another digest)", n)
		}
		return ErrAttestationMissing, errors.New(msg)
	}
	at := newest.VerifiedAt.UTC().Format(time.RFC3339)
	t := now()
	switch {
	case newest.VerifiedAt.After(t.Add(ClockSkew)):
		return ErrVerificationRefused, fmt.Errorf("the %s record is dated %s, %s ahead of this clock (more than %s)", vp.Environment, at, shortDuration(newest.VerifiedAt.Sub(t).Round(time.Second)), shortDuration(ClockSkew))
	case newest.Verdict != VerdictPassed:
		return ErrVerificationRefused, fmt.Errorf("%s verification %s at %s (%s)", vp.Environment, verdictWord(newest.Verdict), at, newest.Run.URL)
	case t.Sub(newest.VerifiedAt) > vp.MaxAge:
		return ErrVerificationRefused, fmt.Errorf("%s verification is older than %s: verified at %s, %s ago", vp.Environment, shortDuration(vp.MaxAge), at, shortDuration(t.Sub(newest.VerifiedAt).Round(time.Minute)))
	}
	return nil, nil
}

func verdictWord(v string) string {
	if v == "" {
		return "has no verdict"
	}
	return "verdict " + v
}

// shortDuration writes 24h rather than 24h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func dedupe(list []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// statementOf reads the in-toto statement in a DSSE envelope.
func statementOf(envelope []byte) (predicateType string, predicate json.RawMessage, err error) {
	var env struct{ Payload []byte }
	if err := json.Unmarshal(envelope, &env); err != nil {
		return "", nil, err
	}
	var st struct {
		PredicateType string          `json:"predicateType"`
		Predicate     json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(env.Payload, &st); err != nil {
		return "", nil, err
	}
	return st.PredicateType, st.Predicate, nil
}
