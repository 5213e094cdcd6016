package sign

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// SBOMStatement wraps an SBOM document (CycloneDX JSON or SPDX JSON, told
// apart by content) as the statement cosign attest --type cyclonedx or
// spdxjson would make.
func SBOMStatement(ref name.Digest, doc []byte) (Statement, error) {
	var probe struct {
		BOMFormat   string `json:"bomFormat"`
		SPDXVersion string `json:"spdxVersion"`
	}
	if err := json.Unmarshal(doc, &probe); err != nil {
		return Statement{}, fmt.Errorf("SBOM is not JSON: %w", err)
	}
	switch {
	case probe.BOMFormat == "CycloneDX":
		return Statement{Subject: ref, PredicateType: PredicateCycloneDX, Predicate: compact(doc)}, nil
	case probe.SPDXVersion != "":
		return Statement{Subject: ref, PredicateType: PredicateSPDX, Predicate: compact(doc)}, nil
	}
	return Statement{}, errors.New("SBOM is neither CycloneDX JSON nor SPDX JSON")
}

// ScanResult is what the vuln predicate says about the scan.
type ScanResult struct {
	ScannerURI, ScannerVersion string
	DBURI, DBVersion           string
	Result                     []byte // the scan report, JSON (SARIF or scan's JSON)
	StartedOn, FinishedOn      time.Time
}

// VulnStatement is cosign's vuln predicate
// (https://cosign.sigstore.dev/attestation/vuln/v1) for a scan of ref.
func VulnStatement(ref name.Digest, s ScanResult) (Statement, error) {
	if !json.Valid(s.Result) {
		return Statement{}, errors.New("scan result is not JSON")
	}
	pred := map[string]any{
		"invocation": map[string]any{"parameters": nil, "uri": "", "event_id": "", "builder.id": ""},
		"scanner": map[string]any{
			"uri": s.ScannerURI, "version": s.ScannerVersion,
			"db":     map[string]string{"uri": s.DBURI, "version": s.DBVersion},
			"result": json.RawMessage(compact(s.Result)),
		},
		"metadata": map[string]any{"scanStartedOn": s.StartedOn.UTC().Format(time.RFC3339), "scanFinishedOn": s.FinishedOn.UTC().Format(time.RFC3339)},
	}
	raw, err := json.Marshal(pred)
	if err != nil {
		return Statement{}, err
	}
	return Statement{Subject: ref, PredicateType: PredicateVuln, Predicate: raw}, nil
}

func compact(doc []byte) []byte {
	var b bytes.Buffer
	if json.Compact(&b, doc) != nil {
		return doc
	}
	return b.Bytes()
}
