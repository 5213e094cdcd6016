package sign

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Predicate types this package writes, and the short names cosign's
// verify-attestation --type and the gate's verify-attestations accept.
const (
	PredicateSLSAProvenance1 = "https://slsa.dev/provenance/v1"
	PredicateCycloneDX       = "https://cyclonedx.org/bom"
	PredicateSPDX            = "https://spdx.dev/Document"
	PredicateVuln            = "https://cosign.sigstore.dev/attestation/vuln/v1"
	// PredicateVerification is ours: see verification.go.
	statementType = "https://in-toto.io/Statement/v0.1"
)

// PredicateTypeOf maps cosign's short names (slsaprovenance1, cyclonedx,
// spdxjson, vuln) and ours (verification) to predicate type URIs; a URI
// is returned unchanged.
func PredicateTypeOf(s string) (string, error) {
	switch s {
	case "verification":
		return PredicateVerification, nil
	case "slsaprovenance1":
		return PredicateSLSAProvenance1, nil
	case "cyclonedx":
		return PredicateCycloneDX, nil
	case "spdx", "spdxjson":
		return PredicateSPDX, nil
	case "vuln":
		return PredicateVuln, nil
	}
	if strings.Contains(s, "://") {
		return s, nil
	}
	return "", fmt.Errorf("unknown predicate type %q (want slsaprovenance1, cyclonedx, spdxjson, vuln, verification or a URI)", s)
}

// Statement is an in-toto statement about one image digest.
type Statement struct {
	Subject       name.Digest
	PredicateType string
	Predicate     json.RawMessage
	// Annotations go on the attestation's layer beside predicateType.
	// They are not signed; they scope replacement: an attestation
	// replaces an earlier one of the same predicate type only when these
	// annotations are the same too.
	Annotations map[string]string
}

type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// JSON is the statement as in-toto JSON.
func (s Statement) JSON() ([]byte, error) {
	alg, hex, ok := strings.Cut(s.Subject.DigestStr(), ":")
	if !ok {
		return nil, fmt.Errorf("subject %q has no digest", s.Subject)
	}
	return json.Marshal(struct {
		Type          string          `json:"_type"`
		PredicateType string          `json:"predicateType"`
		Subject       []subject       `json:"subject"`
		Predicate     json.RawMessage `json:"predicate"`
	}{statementType, s.PredicateType, []subject{{Name: s.Subject.Context().Name(), Digest: map[string]string{alg: hex}}}, s.Predicate})
}

func (s Statement) checkSubject(ref name.Digest) error {
	if s.Subject.DigestStr() != ref.DigestStr() {
		return fmt.Errorf("%s statement is about %s, not %s", s.PredicateType, s.Subject.DigestStr(), ref.DigestStr())
	}
	if !json.Valid(s.Predicate) {
		return fmt.Errorf("%s predicate is not JSON", s.PredicateType)
	}
	return nil
}
