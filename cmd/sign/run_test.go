package main

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
	"github.com/fxplatform/deploy-actions/pkg/scan/scantest"
	"github.com/fxplatform/deploy-actions/pkg/sign"
	"github.com/fxplatform/deploy-actions/pkg/sign/sigstoretest"
)

// runnerEnv is what a GitHub runner sets for the provenance.
var runnerEnv = map[string]string{
	"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "fxplatform/fx-platform",
	"GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567", "GITHUB_REF": "refs/tags/v1.2.3",
	"GITHUB_WORKFLOW_REF": "fxplatform/fx-platform/.github/workflows/release.yml@refs/tags/v1.2.3",
	"GITHUB_RUN_ID":       "4242", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_EVENT_NAME": "push",
}

func keyPair(t *testing.T, password string) (priv, pub []byte) {
	t.Helper()
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(password), nil })
	if err != nil {
		t.Fatal(err)
	}
	return kb.PrivateBytes, kb.PublicBytes
}

func TestRunSignsAndAttests(t *testing.T) {
	host := scantest.StartRegistry(t)
	ref := scantest.PushImage(t, host)
	dir := t.TempDir()
	priv, pub := keyPair(t, "pw")
	keyFile := filepath.Join(dir, "cosign.key")
	if err := os.WriteFile(keyFile, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	sbom := filepath.Join(dir, "sbom.json")
	os.WriteFile(sbom, []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}`), 0o644)
	scanJSON := filepath.Join(dir, "scan.json")
	os.WriteFile(scanJSON, []byte(`{"image":"x","findings":[]}`), 0o644)

	for _, tc := range []struct {
		name      string
		inputs    map[string]string
		wantTypes string
	}{
		{"key file, provenance only", map[string]string{"key": keyFile}, sign.PredicateSLSAProvenance1},
		{"key content, provenance, sbom and scan", map[string]string{"key": string(priv), "attest-sbom": sbom, "attest-scan": scanJSON},
			strings.Join([]string{sign.PredicateSLSAProvenance1, sign.PredicateCycloneDX, sign.PredicateVuln}, "\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inputs := map[string]string{"image": ref.String(), "key-password": "pw", "tlog-upload": "false", "insecure-registries": host}
			maps.Copy(inputs, tc.inputs)
			r := actiontest.New(t, inputs)
			maps.Copy(r.Env, runnerEnv)
			if code := r.Run(context.Background(), spec, run); code != 0 {
				t.Fatalf("exit %d\n%s", code, r.Log.String())
			}
			out := r.Outputs()
			wantSig := ref.Context().String() + ":" + strings.Replace(ref.DigestStr(), ":", "-", 1) + ".sig"
			if out["signature-ref"] != wantSig {
				t.Errorf("signature-ref = %q, want %q", out["signature-ref"], wantSig)
			}
			if out["attestations"] != tc.wantTypes {
				t.Errorf("attestations = %q, want %q", out["attestations"], tc.wantTypes)
			}
			if log := withoutMaskCommands(r.Log.String()); strings.Contains(log, "pw") || strings.Contains(log, "PRIVATE KEY") {
				t.Errorf("a secret reached the log:\n%s", r.Log.String())
			}
			types := strings.Split(tc.wantTypes, "\n")
			if err := sign.Verify(context.Background(), ref, sign.Policy{Key: string(pub), IgnoreTlog: true, Attestations: types}); err != nil {
				t.Errorf("the gate refuses what sign wrote: %v", err)
			}
		})
	}
}

func TestRunRejectsBadInputBeforeAnyRequest(t *testing.T) {
	srv := actiontest.NewServer(t, nil) // the registry and the OIDC token service
	host := srv.Host()
	digest := host + "/fx/app@sha256:" + strings.Repeat("a", 64)
	priv, _ := keyPair(t, "")
	// Relative blob paths are read from the working directory.
	t.Chdir(t.TempDir())
	if err := os.WriteFile("checksums.txt", []byte("0a1b  app.tar.gz\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	outsideRunner := map[string]string{}
	for k := range runnerEnv {
		outsideRunner[k] = ""
	}
	oidcOnly := maps.Clone(outsideRunner)
	maps.Copy(oidcOnly, map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": srv.URL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t", "GITHUB_RUN_ID": "1"})
	actiontest.BadInputs{
		Spec: spec, Run: run,
		Good:    map[string]string{"insecure-registries": host},
		Env:     runnerEnv,
		Servers: []*actiontest.Server{srv},
		Check: func(t *testing.T, _ *actiontest.Runner) {
			if _, err := os.Stat("checksums.txt" + sign.BundleSuffix); err == nil {
				t.Errorf("a bundle was written")
			}
		},
	}.Test(t, []actiontest.BadInput{
		{Name: "tag instead of digest", Input: "image", Set: map[string]string{"image": host + "/fx/app:v1", "key": string(priv)}},
		{Name: "neither key nor keyless", Input: "key", Set: map[string]string{"image": digest}},
		{Name: "key and keyless", Input: "keyless", Set: map[string]string{"image": digest, "key": string(priv), "keyless": "true"}},
		{Name: "key file missing", Input: "key", Set: map[string]string{"image": digest, "key": "/nonexistent/cosign.key"}},
		{Name: "insecure registry not a host", Input: "insecure-registries", Set: map[string]string{"image": digest, "key": string(priv), "insecure-registries": host + "\nbad host/x"}},
		{Name: "unknown KMS", Input: "key", Set: map[string]string{"image": digest, "key": "vaultx://k"}},
		{Name: "keyless without an OIDC token", Input: "keyless", Set: map[string]string{"image": digest, "keyless": "true"}},
		{Name: "keyless without the log", Input: "tlog-upload", Set: map[string]string{"image": digest, "keyless": "true", "tlog-upload": "false"},
			Env: oidcOnly},
		{Name: "provenance outside a runner", Input: "attest-provenance", Set: map[string]string{"image": digest, "key": string(priv)}, Env: outsideRunner},
		{Name: "sbom file missing", Input: "attest-sbom", Set: map[string]string{"image": digest, "key": string(priv), "attest-sbom": "/nonexistent.json"}},
		{Name: "bad rekor url", Input: "rekor-url", Set: map[string]string{"image": digest, "key": string(priv), "rekor-url": "rekor"}},
		{Name: "neither image nor blobs", Input: "image", Set: map[string]string{"key": string(priv)}},
		{Name: "blob missing", Input: "blobs", Set: map[string]string{"blobs": "checksums.txt\n/nonexistent/checksums.txt", "key": string(priv)}},
		{Name: "blob is a directory", Input: "blobs", Set: map[string]string{"blobs": os.TempDir(), "key": string(priv)}},
		{Name: "blob listed twice", Input: "blobs", Set: map[string]string{"blobs": "checksums.txt\n./checksums.txt", "key": string(priv)}},
		{Name: "sbom attestation without image", Input: "attest-sbom", Set: map[string]string{"blobs": "checksums.txt", "key": string(priv), "attest-sbom": "checksums.txt"}},
		{Name: "scan attestation without image", Input: "attest-scan", Set: map[string]string{"blobs": "checksums.txt", "key": string(priv), "attest-scan": "checksums.txt"}},
		{Name: "wrong key password", Input: "key", Set: map[string]string{"image": digest, "key": string(mustEncrypted(t)), "key-password": "wrong", "tlog-upload": "false"}},
	})
}

func mustEncrypted(t *testing.T) []byte {
	priv, _ := keyPair(t, "right")
	return priv
}

// withoutMaskCommands drops the ::add-mask:: lines, which name the secrets
// so that the runner hides them.
func withoutMaskCommands(log string) string {
	var keep []string
	for _, l := range strings.Split(log, "\n") {
		if !strings.HasPrefix(l, "::add-mask::") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func TestRunKeyless(t *testing.T) {
	identity := "https://github.com/fxplatform/fx-platform/.github/workflows/release.yml@refs/tags/v1.2.3"
	ss := sigstoretest.Start(t, identity)
	host := scantest.StartRegistry(t)
	ref := scantest.PushImage(t, host)
	r := actiontest.New(t, map[string]string{
		"image": ref.String(), "keyless": "true", "fulcio-url": ss.FulcioURL, "rekor-url": ss.RekorURL,
		"insecure-registries": host,
	})
	maps.Copy(r.Env, runnerEnv)
	r.Env["ACTIONS_ID_TOKEN_REQUEST_URL"] = ss.OIDCURL
	r.Env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "request-token"
	if code := r.Run(context.Background(), spec, run); code != 0 {
		t.Fatalf("exit %d\n%s", code, r.Log.String())
	}
	if !strings.Contains(r.Summary(), "keyless") || !strings.Contains(r.Summary(), "Rekor entry") {
		t.Errorf("summary:\n%s", r.Summary())
	}
	policy := sign.Policy{Identity: identity, Issuer: sigstoretest.Issuer, Attestations: []string{"slsaprovenance1"},
		Roots: ss.Roots(), RekorKeys: ss.RekorKeys(t), IgnoreSCT: true}
	if err := sign.Verify(context.Background(), ref, policy); err != nil {
		t.Errorf("the gate refuses what keyless sign wrote: %v", err)
	}
}

// verifyBundle checks a bundle sign wrote against its file, through
// cosign's library, as cosign verify-blob --bundle does.
func verifyBundle(t *testing.T, blob, bundle string, co *cosign.CheckOpts) error {
	t.Helper()
	b, err := sgbundle.LoadJSONFromPath(bundle)
	if err != nil {
		t.Fatalf("reading the bundle: %v", err)
	}
	f, err := os.Open(blob)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = cosign.VerifyNewBundle(context.Background(), co, sgverify.WithArtifact(f), b)
	return err
}

func trustedRoot(t *testing.T, data string) root.TrustedMaterial {
	t.Helper()
	tr, err := root.NewTrustedRootFromJSON([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// writeBlobs writes release files into a fresh directory.
func writeBlobs(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "dist"), 0o755); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for name, body := range map[string]string{"checksums.txt": "0a1b  app_linux_amd64.tar.gz\n", "dist/app.spdx.json": `{"spdxVersion":"SPDX-2.3"}`} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return paths
}

func TestRunSignsBlobs(t *testing.T) {
	dir := t.TempDir()
	priv, pub := keyPair(t, "pw")
	keyFile := filepath.Join(dir, "cosign.key")
	if err := os.WriteFile(keyFile, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	verifier, err := sign.LoadVerifier(context.Background(), string(pub))
	if err != nil {
		t.Fatal(err)
	}
	host := scantest.StartRegistry(t)
	ref := scantest.PushImage(t, host)
	for _, tc := range []struct {
		name   string
		inputs map[string]string
		env    map[string]string
	}{
		// No runner variables: attest-provenance (default true) is about
		// an image and is not asked for without one.
		{"key content, blobs only", map[string]string{"key": string(priv)}, nil},
		{"key file, blobs only", map[string]string{"key": keyFile}, nil},
		{"key file, image and blobs", map[string]string{"key": keyFile, "image": ref.String(), "insecure-registries": host}, runnerEnv},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blobs := writeBlobs(t)
			inputs := map[string]string{"blobs": strings.Join(blobs, "\n"), "key-password": "pw", "tlog-upload": "false"}
			maps.Copy(inputs, tc.inputs)
			r := actiontest.New(t, inputs)
			maps.Copy(r.Env, tc.env)
			if code := r.Run(context.Background(), spec, run); code != 0 {
				t.Fatalf("exit %d\n%s", code, r.Log.String())
			}
			out := r.Outputs()
			var want []string
			for _, b := range blobs {
				want = append(want, b+".sigstore.json")
			}
			if out["bundles"] != strings.Join(want, "\n") {
				t.Errorf("bundles = %q, want %q", out["bundles"], want)
			}
			if _, withImage := tc.inputs["image"]; withImage != (out["signature-ref"] != "") {
				t.Errorf("signature-ref = %q", out["signature-ref"])
			}
			if !strings.Contains(r.Summary(), "checksums.txt.sigstore.json") {
				t.Errorf("summary:\n%s", r.Summary())
			}
			co := &cosign.CheckOpts{SigVerifier: verifier, IgnoreTlog: true,
				TrustedMaterial: trustedRoot(t, `{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`)}
			for i, blob := range blobs {
				if err := verifyBundle(t, blob, want[i], co); err != nil {
					t.Errorf("%s: the bundle does not verify: %v", blob, err)
				}
			}
			// The first file's bundle does not vouch for the second file.
			if err := verifyBundle(t, blobs[1], want[0], co); err == nil {
				t.Error("a bundle verified another file")
			}
			if err := os.WriteFile(blobs[0], []byte("0a1b  evil.tar.gz\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := verifyBundle(t, blobs[0], want[0], co); err == nil {
				t.Error("a tampered file verified")
			}
		})
	}
}

func TestRunKeylessBlobs(t *testing.T) {
	identity := "https://github.com/fxplatform/fx-platform/.github/workflows/release.yml@refs/tags/v1.2.3"
	ss := sigstoretest.Start(t, identity)
	blobs := writeBlobs(t)
	r := actiontest.New(t, map[string]string{
		"blobs": strings.Join(blobs, "\n"), "keyless": "true", "fulcio-url": ss.FulcioURL, "rekor-url": ss.RekorURL,
	})
	r.Env["ACTIONS_ID_TOKEN_REQUEST_URL"] = ss.OIDCURL
	r.Env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "request-token"
	if code := r.Run(context.Background(), spec, run); code != 0 {
		t.Fatalf("exit %d\n%s", code, r.Log.String())
	}
	if !strings.Contains(r.Summary(), "Rekor entry") {
		t.Errorf("summary:\n%s", r.Summary())
	}
	bundles := strings.Split(r.Outputs()["bundles"], "\n")
	if len(bundles) != len(blobs) {
		t.Fatalf("bundles %q", bundles)
	}
	for _, tc := range []struct {
		name, identity string
		ok             bool
	}{
		{"the workflow's identity", identity, true},
		{"another workflow's identity", strings.Replace(identity, "release.yml", "other.yml", 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			co := &cosign.CheckOpts{TrustedMaterial: trustedRoot(t, string(ss.TrustedRootJSON(t))), IgnoreSCT: true,
				Identities: []cosign.Identity{{Subject: tc.identity, Issuer: sigstoretest.Issuer}}}
			for i, blob := range blobs {
				if err := verifyBundle(t, blob, bundles[i], co); (err == nil) != tc.ok {
					t.Errorf("%s: verify = %v, want ok %v", blob, err, tc.ok)
				}
			}
		})
	}
}
