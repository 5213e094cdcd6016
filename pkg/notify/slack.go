package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/slack-go/slack"
)

// Slack posts events to a Slack incoming webhook as Block Kit messages.
type Slack struct {
	url    string
	client *http.Client
}

// NewSlack makes a receiver for a Slack incoming webhook URL
// (https://hooks.slack.com/services/...), a secret. client may be
// nil: the default follows no redirect.
func NewSlack(webhookURL string, client *http.Client) *Slack {
	return &Slack{url: webhookURL, client: clientOr(client)}
}

// Name is "Slack"; the URL is never shown.
func (s *Slack) Name() string { return "Slack" }

// String is Name, so that printing the receiver does not print its URL.
func (s *Slack) String() string { return s.Name() }

// Send posts e. Slack answers 200 to a message it accepts.
func (s *Slack) Send(ctx context.Context, e Event) error {
	err := slack.PostWebhookCustomHTTPContext(ctx, s.url, s.client, SlackMessage(e))
	var status slack.StatusCodeError
	if errors.As(err, &status) {
		return &StatusError{Code: status.Code}
	}
	return scrub(err, s.url)
}

// Limits of Block Kit that a long event would otherwise break (Slack
// refuses the whole message).
const (
	slackHeaderMax  = 150
	slackTextMax    = 3000
	slackFieldMax   = 2000
	slackFieldsMax  = 10
	slackChangesMax = 15
)

// SlackMessage is the message Send posts: a header with the title, the
// message, the event's facts and values as fields (ten a section), the
// changes, and a context line linking the run and the deployment. Text is
// the title too, for notifications and clients without blocks.
func SlackMessage(e Event) *slack.WebhookMessage {
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, cut(e.title(), slackHeaderMax), true, false)),
	}
	if e.Message != "" {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(cut(slackEscape(e.Message), slackTextMax)), nil, nil))
	}
	var fields []*slack.TextBlockObject
	for _, f := range e.facts() {
		fields = append(fields, mrkdwn(cut(fmt.Sprintf("*%s*\n%s", slackEscape(f[0]), slackEscape(f[1])), slackFieldMax)))
	}
	for _, v := range e.Values {
		fields = append(fields, mrkdwn(cut(fmt.Sprintf("*%s*\n%s%s", slackEscape(v.Name), statusEmoji(v.Status), slackEscape(v.text())), slackFieldMax)))
	}
	for len(fields) > 0 {
		n := min(len(fields), slackFieldsMax)
		blocks = append(blocks, slack.NewSectionBlock(nil, fields[:n], nil))
		fields = fields[n:]
	}
	if len(e.Changes) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(cut(slackChanges(e.Changes), slackTextMax)), nil, nil))
	}
	if links := slackLinks(e); links != "" {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(links)))
	}
	return &slack.WebhookMessage{Text: e.title(), Blocks: &slack.Blocks{BlockSet: blocks}}
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// slackEscape escapes the three characters mrkdwn reads as markup.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func statusEmoji(status string) string {
	switch status {
	case Pass:
		return ":white_check_mark: "
	case Fail:
		return ":x: "
	case Inconclusive:
		return ":grey_question: "
	}
	return ""
}

func slackChanges(changes []Change) string {
	var b strings.Builder
	b.WriteString("*Changes*")
	for i, c := range changes {
		if i == slackChangesMax {
			fmt.Fprintf(&b, "\n… and %d more", len(changes)-i)
			break
		}
		sha := slackEscape(c.short())
		if c.URL != "" {
			sha = fmt.Sprintf("<%s|%s>", c.URL, sha)
		}
		fmt.Fprintf(&b, "\n• %s %s", sha, slackEscape(c.Title))
		if c.Author != "" {
			fmt.Fprintf(&b, " (%s)", slackEscape(c.Author))
		}
		if c.PR > 0 {
			fmt.Fprintf(&b, " #%d", c.PR)
		}
	}
	return b.String()
}

func slackLinks(e Event) string {
	var links []string
	if e.RunURL != "" {
		links = append(links, fmt.Sprintf("<%s|Workflow run>", e.RunURL))
	}
	if e.DeploymentURL != "" {
		links = append(links, fmt.Sprintf("<%s|Deployment>", e.DeploymentURL))
	}
	if !e.Time.IsZero() {
		links = append(links, e.Time.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	return strings.Join(links, " · ")
}

// cut shortens s to at most n characters, marking the cut.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
