// Package sigstoretest runs stand-ins for the services keyless signing
// talks to: the GitHub Actions OIDC token endpoint, Fulcio (v1 signingCert
// API) and Rekor (entries, publicKey). They issue real certificates and
// real signed entry timestamps from keys made per test, so cosign's
// verification runs unchanged against them. Rekor can be told to fail its
// first uploads (5xx, or accepting the entry but answering too late) to
// exercise retries.
package sigstoretest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/tuf"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Issuer is the OIDC issuer GitHub Actions tokens carry.
const Issuer = "https://token.actions.githubusercontent.com"

// Sigstore is one set of stand-ins.
type Sigstore struct {
	OIDCURL, FulcioURL, RekorURL string
	// Identity is the workflow identity certificates are issued for.
	Identity string

	root      *x509.Certificate
	rootKey   *ecdsa.PrivateKey
	rekorKey  *ecdsa.PrivateKey
	mu        sync.Mutex
	entries   map[string]json.RawMessage // uuid -> LogEntry
	byHash    map[string]string          // sha256 of proposed entry -> uuid
	failFirst int                        // uploads to fail with 503
	slowFirst int                        // uploads to accept but answer late
	slowDelay time.Duration
	// Uploads counts POSTs to Rekor.
	Uploads int
}

// Start runs the stand-ins; identity is the certificate subject (e.g.
// https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1).
func Start(t *testing.T, identity string) *Sigstore {
	t.Helper()
	s := &Sigstore{Identity: identity, entries: map[string]json.RawMessage{}, byHash: map[string]string{}}
	var err error
	if s.rootKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if s.rekorKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sigstoretest root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &s.rootKey.PublicKey, s.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	if s.root, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	oidc := httptest.NewServer(http.HandlerFunc(s.serveToken))
	fulcio := httptest.NewServer(http.HandlerFunc(s.serveFulcio))
	rekor := httptest.NewServer(http.HandlerFunc(s.serveRekor))
	t.Cleanup(oidc.Close)
	t.Cleanup(fulcio.Close)
	t.Cleanup(rekor.Close)
	s.OIDCURL, s.FulcioURL, s.RekorURL = oidc.URL+"/token", fulcio.URL, rekor.URL
	return s
}

// FailUploads makes the next n Rekor uploads answer 503.
func (s *Sigstore) FailUploads(n int) { s.mu.Lock(); s.failFirst = n; s.mu.Unlock() }

// SlowUploads makes the next n Rekor uploads record the entry but answer
// only after delay (so the client times out and retries, and finds 409).
func (s *Sigstore) SlowUploads(n int, delay time.Duration) {
	s.mu.Lock()
	s.slowFirst, s.slowDelay = n, delay
	s.mu.Unlock()
}

// Roots is a pool with the stand-in Fulcio's root.
func (s *Sigstore) Roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.root)
	return p
}

// RootPEM is the stand-in Fulcio's root certificate in PEM, as the gate's
// verify-fulcio-roots input takes it.
func (s *Sigstore) RootPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.root.Raw}))
}

// RekorKeyPEM is the stand-in Rekor's public key in PEM, as the gate's
// verify-rekor-public-key input takes it.
func (s *Sigstore) RekorKeyPEM(t *testing.T) string {
	t.Helper()
	b, err := cryptoutils.MarshalPublicKeyToPEM(&s.rekorKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// RekorKeys are the stand-in Rekor's public keys as cosign takes them.
func (s *Sigstore) RekorKeys(t *testing.T) *cosign.TrustedTransparencyLogPubKeys {
	t.Helper()
	pemBytes, err := cryptoutils.MarshalPublicKeyToPEM(&s.rekorKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	keys := cosign.NewTrustedTransparencyLogPubKeys()
	if err := keys.AddTransparencyLogPubKey(pemBytes, tuf.Active); err != nil {
		t.Fatal(err)
	}
	return &keys
}

// serveToken answers as ACTIONS_ID_TOKEN_REQUEST_URL does: {"value": JWT}.
// The JWT is unsigned: the Fulcio stand-in does not check it.
// The authorization scheme is matched without regard to case, as HTTP's
// are.
func (s *Sigstore) serveToken(w http.ResponseWriter, r *http.Request) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "bearer") || token != "request-token" || r.URL.Query().Get("audience") != "sigstore" {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	json.NewEncoder(w).Encode(map[string]string{"value": s.Token()})
}

// Token is the OIDC token the runner would give a job of Identity's
// workflow, for tests that sign keyless without an action.
func (s *Sigstore) Token() string {
	enc := base64.RawURLEncoding.EncodeToString
	claims, _ := json.Marshal(map[string]any{"iss": Issuer, "sub": "repo:fxplatform/fx-platform:ref:refs/tags/v1.2.3", "aud": "sigstore", "job_workflow_ref": s.Identity})
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(claims) + "." + enc([]byte("sig"))
}

// OIDC issuer extensions Fulcio writes (legacy raw string, and DER UTF8String).
var (
	oidIssuerV1 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	oidIssuerV2 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
)

func (s *Sigstore) serveFulcio(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/signingCert" {
		http.NotFound(w, r)
		return
	}
	var req struct {
		PublicKey struct{ Content []byte } `json:"publicKey"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pub, err := x509.ParsePKIXPublicKey(req.PublicKey.Content)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id, _ := url.Parse(s.Identity)
	v2, _ := asn1.Marshal(Issuer)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		NotBefore:    time.Now().Add(-time.Minute), NotAfter: time.Now().Add(10 * time.Minute),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		URIs: []*url.URL{id},
		ExtraExtensions: []pkix.Extension{
			{Id: oidIssuerV1, Value: []byte(Issuer)},
			{Id: oidIssuerV2, Value: v2},
		},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.root, pub, s.rootKey)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/pem-certificate-chain")
	w.WriteHeader(http.StatusCreated)
	pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: s.root.Raw})
}

func (s *Sigstore) logID() string {
	der, _ := x509.MarshalPKIXPublicKey(&s.rekorKey.PublicKey)
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

func (s *Sigstore) serveRekor(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/log/publicKey":
		pemBytes, _ := cryptoutils.MarshalPublicKeyToPEM(&s.rekorKey.PublicKey)
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Write(pemBytes)
	case r.Method == http.MethodGet && len(r.URL.Path) > len("/api/v1/log/entries/"):
		uuid := r.URL.Path[len("/api/v1/log/entries/"):]
		s.mu.Lock()
		e, ok := s.entries[uuid]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{%q:%s}", uuid, e)
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/log/entries":
		s.upload(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Sigstore) upload(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.Uploads++
	if s.failFirst > 0 {
		s.failFirst--
		s.mu.Unlock()
		http.Error(w, `{"code":503,"message":"overloaded"}`, http.StatusServiceUnavailable)
		return
	}
	canon, err := jsoncanonicalizer.Transform(body)
	if err != nil {
		s.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sum := sha256.Sum256(canon)
	key := hex.EncodeToString(sum[:])
	if uuid, ok := s.byHash[key]; ok {
		s.mu.Unlock()
		w.Header().Set("Location", "/api/v1/log/entries/"+uuid)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		fmt.Fprintf(w, `{"code":409,"message":"an equivalent entry already exists in the transparency log with UUID %s"}`, uuid)
		return
	}
	uuid, entry, err := s.entry(canon, int64(len(s.entries)))
	if err != nil {
		s.mu.Unlock()
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.entries[uuid], s.byHash[key] = entry, uuid
	delay := time.Duration(0)
	if s.slowFirst > 0 {
		s.slowFirst--
		delay = s.slowDelay
	}
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", "/api/v1/log/entries/"+uuid)
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, "{%q:%s}", uuid, entry)
}

// entry makes a log entry for canon, each in a tree of its own (size 1):
// the inclusion proof is the leaf hash as the root.
func (s *Sigstore) entry(canon []byte, index int64) (string, json.RawMessage, error) {
	leaf := sha256.Sum256(append([]byte{0}, canon...))
	uuid := hex.EncodeToString(leaf[:])
	body := base64.StdEncoding.EncodeToString(canon)
	now := time.Now().Unix()
	payload, err := json.Marshal(map[string]any{"body": body, "integratedTime": now, "logIndex": index, "logID": s.logID()})
	if err != nil {
		return "", nil, err
	}
	canonPayload, err := jsoncanonicalizer.Transform(payload)
	if err != nil {
		return "", nil, err
	}
	digest := sha256.Sum256(canonPayload)
	set, err := ecdsa.SignASN1(rand.Reader, s.rekorKey, digest[:])
	if err != nil {
		return "", nil, err
	}
	// The checkpoint is a signed note, as Rekor v1 signs its tree heads,
	// so that Sigstore bundle verification (which checks it) accepts it.
	noteSigner, err := signature.LoadECDSASigner(s.rekorKey, crypto.SHA256)
	if err != nil {
		return "", nil, err
	}
	checkpoint, err := util.CreateAndSignCheckpoint(context.Background(), "sigstoretest", 1, 1, leaf[:], noteSigner)
	if err != nil {
		return "", nil, err
	}
	e, err := json.Marshal(map[string]any{
		"body": body, "integratedTime": now, "logID": s.logID(), "logIndex": index,
		"verification": map[string]any{
			"signedEntryTimestamp": set,
			"inclusionProof":       map[string]any{"logIndex": 0, "treeSize": 1, "rootHash": uuid, "hashes": []string{}, "checkpoint": string(checkpoint)},
		},
	})
	return uuid, e, err
}

// TrustedRootJSON is a Sigstore trusted root (trusted_root.json) with the
// stand-in Fulcio's root and Rekor's key, as `cosign verify-blob
// --trusted-root` and sigstore-go's root.NewTrustedRootFromJSON take it.
// It has no CT log: verify with SCTs ignored.
func (s *Sigstore) TrustedRootJSON(t *testing.T) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&s.rekorKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	logID := sha256.Sum256(der)
	from := &protocommon.TimeRange{Start: timestamppb.New(s.root.NotBefore)}
	tr := &prototrustroot.TrustedRoot{
		MediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
		Tlogs: []*prototrustroot.TransparencyLogInstance{{
			BaseUrl:       s.RekorURL,
			HashAlgorithm: protocommon.HashAlgorithm_SHA2_256,
			PublicKey:     &protocommon.PublicKey{RawBytes: der, KeyDetails: protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256, ValidFor: from},
			LogId:         &protocommon.LogId{KeyId: logID[:]},
		}},
		CertificateAuthorities: []*prototrustroot.CertificateAuthority{{
			Subject:   &protocommon.DistinguishedName{Organization: "sigstoretest", CommonName: s.root.Subject.CommonName},
			Uri:       s.FulcioURL,
			CertChain: &protocommon.X509CertificateChain{Certificates: []*protocommon.X509Certificate{{RawBytes: s.root.Raw}}},
			ValidFor:  from,
		}},
	}
	b, err := protojson.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var _ crypto.Signer = (*ecdsa.PrivateKey)(nil)
