package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// defaultClient posts the notifications when a receiver is given no
// client. It follows no redirect: a webhook that redirects is
// misconfigured, and following it would send the event, and the
// signature, somewhere the user did not name. The time out of each
// request is the Notifier's.
var defaultClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func clientOr(c *http.Client) *http.Client {
	if c == nil {
		return defaultClient
	}
	return c
}

// post sends body as JSON to a webhook; any answer but 2xx is an error. The
// answer's body is not read into the error: it is the receiver's text, not
// ours, and might echo what it was sent. Errors hold neither the webhook
// URL nor the secrets.
func post(ctx context.Context, c *http.Client, webhook string, body []byte, header http.Header, secrets ...string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhook, bytes.NewReader(body))
	if err != nil {
		return scrub(err, webhook, secrets...)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "deploy-actions-notify")
	resp, err := c.Do(req)
	if err != nil {
		return scrub(err, webhook, secrets...)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &StatusError{Code: resp.StatusCode}
	}
	return nil
}

// StatusError is a webhook's answer other than 2xx (Slack: other than 200).
type StatusError struct{ Code int }

func (e *StatusError) Error() string {
	return fmt.Sprintf("answered %d %s", e.Code, http.StatusText(e.Code))
}

// scrub rewrites an error of the HTTP client so that its text holds no
// webhook URL: a Slack or Teams webhook URL is its own credential, and
// net/http puts it into every url.Error. A time out reads as one.
func scrub(err error, webhook string, secrets ...string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer in time: %w", context.DeadlineExceeded)
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = ue.Err.Error()
	}
	return errors.New(redact(msg, webhook, secrets...))
}

// redact removes the webhook URL, its path and query, and the secrets from
// s, for errors that quote them some other way than a url.Error does.
func redact(s, webhook string, secrets ...string) string {
	hide := append([]string{webhook}, secrets...)
	if u, err := url.Parse(webhook); err == nil {
		hide = append(hide, u.RequestURI(), u.EscapedPath(), u.RawQuery, u.User.String())
		if p, ok := u.User.Password(); ok {
			hide = append(hide, p)
		}
	}
	for _, h := range hide {
		if len(h) > 1 {
			s = strings.ReplaceAll(s, h, "[redacted]")
		}
	}
	return s
}
