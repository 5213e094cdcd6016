// Package notify is the notifications input group of deploy, promote,
// rollback and control: the inputs slack-webhook-url, teams-webhook-url,
// webhook-url and webhook-secret, checked without a network call, and the
// pkg/notify Notifier they make.
package notify

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/fxplatform/deploy-actions/pkg/action"
	pkgnotify "github.com/fxplatform/deploy-actions/pkg/notify"
)

// events is what every receiver is told of, for the descriptions.
const events = "the rollout's start, each traffic step with its measurements, a hold for approval, a resume, an abort with the values that failed, success with the KPIs, a rollback and a failure, linked to the workflow run and the GitHub Deployment"

// delivery is how every receiver is sent to, for the descriptions.
var delivery = "Sent in the background: a receiver that fails is a warning, never a failed run; one that fails twice in a row gets nothing more in the run; the run waits at most " +
	pkgnotify.DefaultBudget.String() + " at its end for what is left. https only (http only to 127.0.0.1, ::1 or localhost)."

// Inputs are the group's inputs, added to an action's spec. All four are
// secrets: a Slack or Teams webhook URL is its own credential.
var Inputs = []action.Input{
	{Name: "slack-webhook-url", Sensitive: true, Description: "Slack incoming webhook URL (https://hooks.slack.com/services/...): a message for each event (" + events + "). " + delivery},
	{Name: "teams-webhook-url", Sensitive: true, Description: "Microsoft Teams workflow webhook URL (Power Automate's \"When a Teams webhook request is received\"): an Adaptive Card for each event (" + events + "). " + delivery},
	{Name: "webhook-url", Sensitive: true, Description: "URL that gets each event as a JSON POST with the fields kind (start, step, hold, resume, abort, success, rollback, failure), action, service, environment, image, stable_image, weight (-1: unknown), title, message, reason, values (name, value, target, status), duration_seconds, run_url, deployment_url, changes (sha, title, author, url, pr) and time, and the headers " +
		pkgnotify.SignatureHeader + " (sha256= and the hex HMAC-SHA256 of the exact body keyed by webhook-secret, as GitHub's X-Hub-Signature-256), " + pkgnotify.EventHeader + " (the kind) and " + pkgnotify.DeliveryHeader + " (a new UUID each request). Any 2xx answer is success. Needs webhook-secret. " + delivery},
	{Name: "webhook-secret", Sensitive: true, Description: "Key of the HMAC-SHA256 signature of webhook-url's requests (header " + pkgnotify.SignatureHeader + "); required with webhook-url, refused without it."},
}

// Group is the parsed group. Its fields are unexported so that printing it
// cannot show a webhook URL or the secret.
type Group struct {
	slack, teams, webhook, secret string
	// RunURL is the workflow run's page, read from the runner context
	// (empty outside a runner); the caller may change it.
	RunURL string
}

// Parse reads and checks the group. Each URL must be https, or http to a
// loopback host. The inputs need no masking here: action.New masks every
// Sensitive input before anything is printed.
func Parse(a *action.Action, in *action.Inputs) Group {
	g := Group{
		slack:   webhookURL(in, "slack-webhook-url"),
		teams:   webhookURL(in, "teams-webhook-url"),
		webhook: webhookURL(in, "webhook-url"),
		secret:  in.String("webhook-secret"),
		RunURL:  runURL(a),
	}
	switch {
	case in.String("webhook-url") != "" && g.secret == "":
		in.Fail("webhook-secret", "is required with webhook-url: its receiver checks each request's %s with it", pkgnotify.SignatureHeader)
	case in.String("webhook-url") == "" && g.secret != "":
		in.Fail("webhook-url", "is not set, but webhook-secret is: set both, or neither")
		g.secret = ""
	}
	return g
}

// webhookURL reads a webhook URL input: https, or http to a loopback host
// (a receiver on the runner itself, a test). The value is never quoted in
// an error, nor url.Parse's error, which quotes it: it is a secret.
func webhookURL(in *action.Inputs, name string) string {
	v := in.String(name)
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		in.Fail(name, "is not an absolute URL (want https://host/path)")
	case u.Scheme == "https":
		return v
	case u.Scheme == "http" && loopback(u.Hostname()):
		return v
	case u.Scheme == "http":
		in.Fail(name, "is plain http to a host that is not loopback; want https (http is allowed only to 127.0.0.1, ::1 or localhost): the URL and the events would cross the network in clear")
	default:
		in.Fail(name, "has the scheme %q; want https (http only to 127.0.0.1, ::1 or localhost)", u.Scheme)
	}
	return ""
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// runURL is the run's page for the events' links, or "" when the runner
// context cannot name it: a missing link is not worth failing a run.
func runURL(a *action.Action) string {
	gh, err := a.Context()
	if err != nil || gh.ServerURL == "" || gh.Repository == "" || gh.RunID == 0 {
		return ""
	}
	return fmt.Sprintf("%s/%s/actions/runs/%d", strings.TrimSuffix(gh.ServerURL, "/"), gh.Repository, gh.RunID)
}

// Enabled reports whether any receiver is set.
func (g Group) Enabled() bool { return g.slack != "" || g.teams != "" || g.webhook != "" }

// Receivers are the receivers set, for a caller that builds its own
// Notifier.
func (g Group) Receivers() []pkgnotify.Receiver {
	var r []pkgnotify.Receiver
	if g.slack != "" {
		r = append(r, pkgnotify.NewSlack(g.slack, nil))
	}
	if g.teams != "" {
		r = append(r, pkgnotify.NewTeams(g.teams, nil))
	}
	if g.webhook != "" {
		r = append(r, pkgnotify.NewWebhook(g.webhook, g.secret, nil))
	}
	return r
}

// Notifier starts the notifier of the run: events get the run's link and
// deploymentURL (the GitHub Deployment's page, may be empty), failures
// become warnings titled "notifications", and Close waits at most
// pkgnotify.DefaultBudget. It is nil when no receiver is set; a nil
// Notifier does nothing.
func (g Group) Notifier(a *action.Action, deploymentURL string) *pkgnotify.Notifier {
	if !g.Enabled() {
		return nil
	}
	return pkgnotify.New(pkgnotify.Options{
		Warn:          func(s string) { a.Warningf("notifications", "%s", s) },
		RunURL:        g.RunURL,
		DeploymentURL: deploymentURL,
	}, g.Receivers()...)
}
