package sign

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"net"
	"time"

	"github.com/go-openapi/runtime"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	rekorclient "github.com/sigstore/rekor/pkg/client"
	"github.com/sigstore/rekor/pkg/generated/client"
	"github.com/sigstore/rekor/pkg/generated/models"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Rekor enters signatures in a Rekor transparency log. Server errors (5xx)
// and attempts that time out are retried with exponential backoff; when a
// retried upload finds the entry already there (409, the earlier attempt
// did land), cosign fetches that entry and checks its signed timestamp,
// and the upload counts as done.
type Rekor struct {
	URL string
	// Attempts is how many times an upload is tried (default 5).
	Attempts int
	// AttemptTimeout bounds one attempt (default 30s).
	AttemptTimeout time.Duration
	// Backoff is the wait before the first retry, doubled each time
	// (default 1s).
	Backoff time.Duration
	client  *client.Rekor
}

func (r *Rekor) rekorClient() (*client.Rekor, error) {
	if r.client != nil {
		return r.client, nil
	}
	// Retries are ours (with a per-attempt timeout), not the client's.
	c, err := rekorclient.GetRekorClient(r.URL, rekorclient.WithRetryCount(0), rekorclient.WithUserAgent("deploy-actions-sign"))
	if err != nil {
		return nil, fmt.Errorf("rekor-url %q: %w", r.URL, err)
	}
	r.client = c
	return c, nil
}

// UploadHashedRekord enters a signature over payload.
func (r *Rekor) UploadHashedRekord(ctx context.Context, sig, payload, pem []byte) (*models.LogEntryAnon, error) {
	h := sha256.New()
	h.Write(payload)
	return r.uploadHashedRekord(ctx, sig, h, pem)
}

// uploadHashedRekord enters a signature over what h (a SHA-256) has
// hashed; h is only read (Sum), so every attempt sends the same digest.
func (r *Rekor) uploadHashedRekord(ctx context.Context, sig []byte, h hash.Hash, pem []byte) (*models.LogEntryAnon, error) {
	return r.retry(ctx, func(ctx context.Context, c *client.Rekor) (*models.LogEntryAnon, error) {
		return cosign.TLogUpload(ctx, c, sig, h, pem)
	})
}

// UploadInToto enters a DSSE-signed in-toto attestation.
func (r *Rekor) UploadInToto(ctx context.Context, envelope, pem []byte) (*models.LogEntryAnon, error) {
	return r.retry(ctx, func(ctx context.Context, c *client.Rekor) (*models.LogEntryAnon, error) {
		return cosign.TLogUploadInTotoAttestation(ctx, c, envelope, pem)
	})
}

func (r *Rekor) retry(ctx context.Context, upload func(context.Context, *client.Rekor) (*models.LogEntryAnon, error)) (*models.LogEntryAnon, error) {
	c, err := r.rekorClient()
	if err != nil {
		return nil, err
	}
	attempts, timeout, backoff := r.Attempts, r.AttemptTimeout, r.Backoff
	if attempts <= 0 {
		attempts = 5
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	if backoff <= 0 {
		backoff = time.Second
	}
	var entry *models.LogEntryAnon
	var last error
	err = wait.ExponentialBackoffWithContext(ctx, wait.Backoff{Duration: backoff, Factor: 2, Jitter: 0.1, Steps: attempts},
		func(ctx context.Context) (bool, error) {
			actx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			e, err := upload(actx, c)
			if err == nil {
				entry = e
				return true, nil
			}
			last = err
			if retryable(err) && ctx.Err() == nil {
				return false, nil
			}
			return false, err
		})
	if entry != nil {
		return entry, nil
	}
	if last != nil {
		err = last
	}
	return nil, fmt.Errorf("uploading to Rekor %q: %w", r.URL, err)
}

// retryable errors: server errors, timeouts, connections refused or cut.
func retryable(err error) bool {
	var apiErr *runtime.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Code >= 500
	}
	type coded interface{ Code() int }
	var ce coded
	if errors.As(err, &ce) {
		return ce.Code() >= 500
	}
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr)
}
