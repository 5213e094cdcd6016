package notify

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Headers of the generic webhook's requests.
const (
	// SignatureHeader is "sha256=" and the hex HMAC-SHA256 of the exact
	// body, keyed by the secret, as GitHub's X-Hub-Signature-256 is.
	SignatureHeader = "X-Deploy-Actions-Signature-256"
	// EventHeader is the event's Kind.
	EventHeader = "X-Deploy-Actions-Event"
	// DeliveryHeader is a random UUID, new for each request.
	DeliveryHeader = "X-Deploy-Actions-Delivery"
)

// Webhook posts each event as JSON (Event's documented fields), signed
// with a shared secret so the receiver can tell it came from us.
type Webhook struct {
	url, secret string
	client      *http.Client
}

// NewWebhook makes a generic webhook receiver. The URL and the secret are
// both secrets. client may be nil: the default
// follows no redirect.
func NewWebhook(webhookURL, secret string, client *http.Client) *Webhook {
	return &Webhook{url: webhookURL, secret: secret, client: clientOr(client)}
}

// Name is "webhook"; the URL is never shown.
func (w *Webhook) Name() string { return "webhook" }

// String is Name, so that printing the receiver prints neither URL nor
// secret.
func (w *Webhook) String() string { return w.Name() }

// Send posts e with the SignatureHeader, EventHeader and DeliveryHeader
// headers. Any 2xx answer is success.
func (w *Webhook) Send(ctx context.Context, e Event) error {
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encoding the event: %w", err)
	}
	h := http.Header{}
	h.Set(SignatureHeader, Sign(w.secret, body))
	h.Set(EventHeader, string(e.Kind))
	h.Set(DeliveryHeader, uuid())
	return post(ctx, w.client, w.url, body, h, w.secret)
}

// Sign is the SignatureHeader's value for body: "sha256=<hex HMAC>".
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether header, a SignatureHeader's value, signs body with
// secret. The comparison takes the same time wherever the MACs differ, so
// a receiver that uses it does not tell an attacker how close a guess is.
func Verify(secret string, body []byte, header string) bool {
	hexMAC, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexMAC)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// uuid is a random (version 4) UUID.
func uuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
