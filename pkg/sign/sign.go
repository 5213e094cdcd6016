package sign

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"maps"

	"github.com/fxplatform/deploy-actions/pkg/image"
	"github.com/google/go-containerregistry/pkg/name"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	cremote "github.com/sigstore/cosign/v2/pkg/cosign/remote"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/empty"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/cosign/v2/pkg/types"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
	signoptions "github.com/sigstore/sigstore/pkg/signature/options"
	sigpayload "github.com/sigstore/sigstore/pkg/signature/payload"
)

// Signer is a key that signs, and for keyless signing the Fulcio
// certificate (and chain) that binds it to an identity.
type Signer struct {
	signature.SignerVerifier
	Cert, Chain []byte // PEM; empty for a key
}

// Options say where signatures go and whether they enter the log.
type Options struct {
	// Remote is how registries are reached (auth, transport, retries).
	Remote image.Remote
	// Log, when set, enters every signature in Rekor.
	Log *Rekor
	// Annotations are signed into the simple-signing payload.
	Annotations map[string]any
}

// Result is what Sign and Attest wrote.
type Result struct {
	// SignatureRef is the tag holding the signatures, repo:sha256-<hex>.sig.
	SignatureRef string
	// AttestationRef is the tag holding the attestations, repo:sha256-<hex>.att.
	AttestationRef string
	// PredicateTypes are the attestations written.
	PredicateTypes []string
	// LogIndexes are the Rekor entries made, if any.
	LogIndexes []int64
}

func (o Options) ociOptions(ctx context.Context) []ociremote.Option {
	return []ociremote.Option{ociremote.WithRemoteOptions(o.Remote.Options(ctx)...)}
}

// Sign signs ref's digest and attaches the signature as cosign does.
func Sign(ctx context.Context, ref name.Digest, s Signer, o Options) (*Result, error) {
	// The image is read first: a digest that is not there (or a registry
	// that refuses the job) must fail before anything enters the
	// transparency log, whose entries are public and permanent.
	se, err := ociremote.SignedEntity(ref, o.ociOptions(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", ref, err)
	}
	payload, err := (&sigpayload.Cosign{Image: ref, Annotations: o.Annotations}).MarshalJSON()
	if err != nil {
		return nil, err
	}
	sig, err := s.SignMessage(bytes.NewReader(payload), signoptions.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	opts := []static.Option{static.WithCertChain(s.Cert, s.Chain)}
	res := &Result{}
	if o.Log != nil {
		pem, err := s.logIdentity(ctx)
		if err != nil {
			return nil, err
		}
		entry, err := o.Log.UploadHashedRekord(ctx, sig, payload, pem)
		if err != nil {
			return nil, err
		}
		opts = append(opts, static.WithBundle(cbundle.EntryToBundle(entry)))
		res.LogIndexes = append(res.LogIndexes, *entry.LogIndex)
	}
	ociSig, err := static.NewSignature(payload, base64.StdEncoding.EncodeToString(sig), opts...)
	if err != nil {
		return nil, err
	}
	se, err = mutate.AttachSignatureToEntity(se, ociSig, mutate.WithDupeDetector(cremote.NewDupeDetector(s)))
	if err != nil {
		return nil, err
	}
	if err := ociremote.WriteSignatures(ref.Repository, se, o.ociOptions(ctx)...); err != nil {
		return nil, fmt.Errorf("writing signature of %q: %w", ref, err)
	}
	tag, err := ociremote.SignatureTag(ref, o.ociOptions(ctx)...)
	if err != nil {
		return nil, err
	}
	res.SignatureRef = tag.String()
	return res, nil
}

// Attest signs in-toto statements about ref as DSSE envelopes and attaches
// them as cosign attest does. Each statement's subject must be ref's digest.
func Attest(ctx context.Context, ref name.Digest, s Signer, statements []Statement, o Options) (*Result, error) {
	se, err := ociremote.SignedEntity(ref, o.ociOptions(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", ref, err)
	}
	res := &Result{}
	wrapped := dsse.WrapSigner(s.SignerVerifier, types.IntotoPayloadType)
	for _, st := range statements {
		if err := st.checkSubject(ref); err != nil {
			return nil, err
		}
		body, err := st.JSON()
		if err != nil {
			return nil, err
		}
		env, err := wrapped.SignMessage(bytes.NewReader(body), signoptions.WithContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("signing %s attestation: %w", st.PredicateType, err)
		}
		ann := map[string]string{"predicateType": st.PredicateType}
		maps.Copy(ann, st.Annotations)
		opts := []static.Option{
			static.WithLayerMediaType(types.DssePayloadType),
			static.WithCertChain(s.Cert, s.Chain),
			static.WithAnnotations(ann),
		}
		if o.Log != nil {
			pem, err := s.logIdentity(ctx)
			if err != nil {
				return nil, err
			}
			entry, err := o.Log.UploadInToto(ctx, env, pem)
			if err != nil {
				return nil, err
			}
			opts = append(opts, static.WithBundle(cbundle.EntryToBundle(entry)))
			res.LogIndexes = append(res.LogIndexes, *entry.LogIndex)
		}
		att, err := static.NewAttestation(env, opts...)
		if err != nil {
			return nil, err
		}
		if se, err = mutate.AttachAttestationToEntity(se, att, mutate.WithReplaceOp(replacer(ann))); err != nil {
			return nil, err
		}
		res.PredicateTypes = append(res.PredicateTypes, st.PredicateType)
	}
	if len(statements) == 0 {
		return res, nil
	}
	if err := ociremote.WriteAttestations(ref.Repository, se, o.ociOptions(ctx)...); err != nil {
		return nil, fmt.Errorf("writing attestations of %q: %w", ref, err)
	}
	tag, err := ociremote.AttestationTag(ref, o.ociOptions(ctx)...)
	if err != nil {
		return nil, err
	}
	res.AttestationRef = tag.String()
	return res, nil
}

// logIdentity is what Rekor records as the signer: the certificate for
// keyless, else the public key.
func (s Signer) logIdentity(ctx context.Context) ([]byte, error) {
	if len(s.Cert) > 0 {
		return s.Cert, nil
	}
	return PublicKeyPEM(ctx, s)
}

// replacer drops an earlier attestation with the same annotations (the
// predicate type, and the statement's own), as cosign attest --replace
// does by predicate type, so a re-run does not pile them up. (cosign's own
// ReplaceOp prints to stderr; library code here stays quiet.)
type replacer map[string]string

// Replace implements mutate.ReplaceOp.
func (r replacer) Replace(sigs oci.Signatures, att oci.Signature) (oci.Signatures, error) {
	list, err := sigs.Get()
	if err != nil {
		return nil, err
	}
	keep := make([]oci.Signature, 0, len(list)+1)
	for _, old := range list {
		if ann, err := old.Annotations(); err == nil && r.matches(ann) {
			continue
		}
		keep = append(keep, old)
	}
	return mutate.AppendSignatures(empty.Signatures(), false, append(keep, att)...)
}

func (r replacer) matches(ann map[string]string) bool {
	for k, v := range r {
		if ann[k] != v {
			return false
		}
	}
	return true
}
