//go:build integration

package sign_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/fxplatform/deploy-actions/pkg/sign"
	"github.com/fxplatform/deploy-actions/pkg/sign/sigstoretest"
)

// cli is a pinned cosign CLI the signatures are checked with.
type cli struct{ version, pkg string }

var clis = []cli{
	{"v2.6.5", "github.com/sigstore/cosign/v2/cmd/cosign"},
	{"v3.1.3", "github.com/sigstore/cosign/v3/cmd/cosign"},
}

// cosignCLI returns the pinned cosign CLI, building it once with go install
// into ~/.cache/deploy-actions/tools (about two minutes the first time).
func cosignCLI(t *testing.T, c cli) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cache, "deploy-actions", "tools", "cosign-"+c.version)
	bin := filepath.Join(dir, "cosign")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	t.Logf("building cosign %s into %s", c.version, dir)
	cmd := exec.Command("go", "install", c.pkg+"@"+c.version)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install cosign: %v\n%s", err, out)
	}
	return bin
}

// runCosign runs the CLI offline against the local registry.
func runCosign(t *testing.T, c cli, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(cosignCLI(t, c), args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "TUF_ROOT="+filepath.Join(home, "tuf"), "SIGSTORE_NO_CACHE=true")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil {
		t.Logf("cosign %s:\n%s", strings.Join(args, " "), errOut.String())
	}
	return out.String(), err
}

func TestCosignCLIVerifies(t *testing.T) {
	ctx := context.Background()
	repo := startRegistry(t) + "/fx/app"
	key := newKeyPair(t, "pw")
	pubFile := filepath.Join(t.TempDir(), "cosign.pub")
	if err := os.WriteFile(pubFile, key.Public, 0o644); err != nil {
		t.Fatal(err)
	}
	ref := pushImage(t, repo, "v1", "cli")
	if _, err := sign.Sign(ctx, ref, key.signer(t), sign.Options{}); err != nil {
		t.Fatal(err)
	}
	prov, err := sign.Provenance(ref, buildContext)
	if err != nil {
		t.Fatal(err)
	}
	sbom, err := sign.SBOMStatement(ref, []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	vuln, err := sign.VulnStatement(ref, sign.ScanResult{ScannerURI: "scan", ScannerVersion: "1", Result: []byte(`{"findings":[]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Attest(ctx, ref, key.signer(t), []sign.Statement{prov, sbom, vuln}, sign.Options{}); err != nil {
		t.Fatal(err)
	}
	other := pushImage(t, repo, "v2", "unsigned")

	// An empty trusted root keeps the CLI from fetching Sigstore's TUF
	// repository: nothing here may leave localhost.
	trustedRoot := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(trustedRoot, []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	common := []string{"--trusted-root", trustedRoot, "--key", pubFile, "--insecure-ignore-tlog=true", "--allow-http-registry=true", "--allow-insecure-registry=true"}
	for _, c := range clis {
		t.Run("cosign "+c.version, func(t *testing.T) {
			t.Run("verify accepts the signature", func(t *testing.T) {
				out, err := runCosign(t, c, append([]string{"verify"}, append(common, ref.String())...)...)
				if err != nil {
					t.Fatalf("cosign verify: %v", err)
				}
				var got []struct {
					Critical struct {
						Image struct {
							Digest string `json:"docker-manifest-digest"`
						}
					}
				}
				if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 || got[0].Critical.Image.Digest != ref.DigestStr() {
					t.Errorf("verify output %s (%v)", out, err)
				}
			})
			t.Run("verify refuses an unsigned digest", func(t *testing.T) {
				if _, err := runCosign(t, c, append([]string{"verify"}, append(common, other.String())...)...); err == nil {
					t.Error("cosign verify accepted an unsigned digest")
				}
			})
			for _, tc := range []struct{ typ, predicateType string }{
				{"slsaprovenance1", sign.PredicateSLSAProvenance1},
				{"cyclonedx", sign.PredicateCycloneDX},
				{"vuln", sign.PredicateVuln},
			} {
				t.Run("verify-attestation --type "+tc.typ, func(t *testing.T) {
					out, err := runCosign(t, c, append([]string{"verify-attestation", "--type", tc.typ}, append(common, ref.String())...)...)
					if err != nil {
						t.Fatalf("cosign verify-attestation: %v", err)
					}
					checkSubjects(t, out, ref, tc.predicateType)
				})
			}
		})
	}
}

// checkSubjects reads verify-attestation's output (one DSSE envelope per
// line) and checks that the statements of predicateType are about ref.
func checkSubjects(t *testing.T, out string, ref name.Digest, predicateType string) {
	t.Helper()
	found := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var env struct{ Payload string }
		if err := json.Unmarshal([]byte(line), &env); err != nil {
			t.Fatalf("output line %q: %v", line, err)
		}
		body, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			PredicateType string `json:"predicateType"`
			Subject       []struct {
				Digest map[string]string `json:"digest"`
			} `json:"subject"`
		}
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatal(err)
		}
		if st.PredicateType != predicateType {
			continue
		}
		found++
		if len(st.Subject) != 1 || "sha256:"+st.Subject[0].Digest["sha256"] != ref.DigestStr() {
			t.Errorf("%s subject %v, want %s", predicateType, st.Subject, ref.DigestStr())
		}
	}
	if found == 0 {
		t.Errorf("no %s statement in the output:\n%s", predicateType, out)
	}
}

func TestCosignCLIVerifiesBlobBundles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := newKeyPair(t, "pw")
	pubFile := write("cosign.pub", key.Public)
	emptyRoot := write("empty_root.json", []byte(emptyTrustedRoot))
	ss := sigstoretest.Start(t, identity)
	standIns := write("trusted_root.json", ss.TrustedRootJSON(t))
	token := ss.Token()
	keyless, err := sign.Keyless(ctx, ss.FulcioURL, token)
	if err != nil {
		t.Fatal(err)
	}
	log := &sign.Rekor{URL: ss.RekorURL, Backoff: 10 * time.Millisecond}
	blob := write("checksums.txt", []byte("0a1b  fx-platform_1.2.3_linux_amd64.tar.gz\n"))
	tampered := write("tampered.txt", []byte("0a1c  fx-platform_1.2.3_linux_amd64.tar.gz\n"))
	for _, tc := range []struct {
		name   string
		signer sign.Signer
		log    *sign.Rekor
		args   []string
	}{
		{"key, log off", key.signer(t), nil, []string{"--key", pubFile, "--insecure-ignore-tlog=true", "--trusted-root", emptyRoot}},
		{"key, in Rekor", key.signer(t), log, []string{"--key", pubFile, "--trusted-root", standIns}},
		{"keyless", keyless, log, []string{"--certificate-identity", identity, "--certificate-oidc-issuer", sigstoretest.Issuer,
			"--insecure-ignore-sct=true", "--trusted-root", standIns}},
	} {
		res, err := sign.SignBlob(ctx, blob, tc.signer, sign.Options{Log: tc.log})
		if err != nil {
			t.Fatalf("%s: SignBlob: %v", tc.name, err)
		}
		bundle := write(strings.ReplaceAll(tc.name, " ", "_")+sign.BundleSuffix, res.Bundle)
		for _, c := range clis {
			t.Run(tc.name+"/cosign "+c.version, func(t *testing.T) {
				args := append([]string{"verify-blob", "--bundle", bundle, "--new-bundle-format"}, tc.args...)
				if _, err := runCosign(t, c, append(args, blob)...); err != nil {
					t.Errorf("cosign verify-blob refuses the bundle: %v", err)
				}
				if _, err := runCosign(t, c, append(args, tampered)...); err == nil {
					t.Error("cosign verify-blob accepts the bundle for another file")
				}
			})
		}
	}
}

// TestCosignCLIVerifiesVerification: the cosign CLI accepts verify's
// record by its predicate type URI, under the key that signed it, and the
// payload it prints is our predicate; under another key it refuses it.
func TestCosignCLIVerifiesVerification(t *testing.T) {
	ctx := context.Background()
	repo := startRegistry(t) + "/fx/app"
	key, other := newKeyPair(t, "pw"), newKeyPair(t, "")
	dir := t.TempDir()
	pubFile, otherFile := filepath.Join(dir, "cosign.pub"), filepath.Join(dir, "other.pub")
	for file, pem := range map[string][]byte{pubFile: key.Public, otherFile: other.Public} {
		if err := os.WriteFile(file, pem, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ref := pushImage(t, repo, "v1", "verified")
	if _, err := sign.Sign(ctx, ref, key.signer(t), sign.Options{}); err != nil {
		t.Fatal(err)
	}
	st, err := sign.VerificationStatement(ref, verification(t, "staging", sign.VerdictPassed, verifiedAt))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Attest(ctx, ref, key.signer(t), []sign.Statement{st}, sign.Options{}); err != nil {
		t.Fatal(err)
	}
	trustedRoot := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(trustedRoot, []byte(emptyTrustedRoot), 0o644); err != nil {
		t.Fatal(err)
	}
	args := func(pub string) []string {
		return []string{"verify-attestation", "--type", sign.PredicateVerification, "--trusted-root", trustedRoot, "--key", pub,
			"--insecure-ignore-tlog=true", "--allow-http-registry=true", "--allow-insecure-registry=true", ref.String()}
	}
	for _, c := range clis {
		t.Run("cosign "+c.version, func(t *testing.T) {
			out, err := runCosign(t, c, args(pubFile)...)
			if err != nil {
				t.Fatalf("cosign verify-attestation --type %s: %v", sign.PredicateVerification, err)
			}
			checkSubjects(t, out, ref, sign.PredicateVerification)
			var env struct{ Payload []byte }
			if err := json.Unmarshal([]byte(strings.SplitN(strings.TrimSpace(out), "\n", 2)[0]), &env); err != nil {
				t.Fatal(err)
			}
			var got struct {
				PredicateType string            `json:"predicateType"`
				Predicate     sign.Verification `json:"predicate"`
			}
			if err := json.Unmarshal(env.Payload, &got); err != nil {
				t.Fatal(err)
			}
			p := got.Predicate
			if got.PredicateType != sign.PredicateVerification || p.Environment != "staging" || p.Verdict != sign.VerdictPassed ||
				!p.VerifiedAt.Equal(verifiedAt) || len(p.KPIs) != 2 || p.KPIs[0].Value != "41 ms" || p.Run.RunID != buildContext.RunID {
				t.Errorf("the CLI's payload is not the record written:\n%s", env.Payload)
			}
			if _, err := runCosign(t, c, args(otherFile)...); err == nil {
				t.Error("cosign verify-attestation accepts the record under another key")
			}
		})
	}
}
