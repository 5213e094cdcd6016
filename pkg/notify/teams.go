package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Teams posts events to a Microsoft Teams channel through a workflow
// webhook (Power Automate's "When a Teams webhook request is received"),
// as Adaptive Cards.
type Teams struct {
	url    string
	client *http.Client
}

// NewTeams makes a receiver for a Teams workflow webhook URL, a secret (it
// carries its own signature). client may be nil: the default
// follows no redirect.
func NewTeams(webhookURL string, client *http.Client) *Teams {
	return &Teams{url: webhookURL, client: clientOr(client)}
}

// Name is "Teams"; the URL is never shown.
func (t *Teams) Name() string { return "Teams" }

// String is Name, so that printing the receiver does not print its URL.
func (t *Teams) String() string { return t.Name() }

// Send posts e. A workflow answers 202 (200 for some); both are success.
func (t *Teams) Send(ctx context.Context, e Event) error {
	body, err := json.Marshal(TeamsMessage(e))
	if err != nil {
		return fmt.Errorf("encoding the card: %w", err)
	}
	return post(ctx, t.client, t.url, body, nil)
}

// TeamsPayload is what a Teams workflow webhook takes: a message with one
// Adaptive Card attachment.
type TeamsPayload struct {
	Type        string            `json:"type"` // "message"
	Attachments []TeamsAttachment `json:"attachments"`
}

// TeamsAttachment carries the card.
type TeamsAttachment struct {
	ContentType string `json:"contentType"` // application/vnd.microsoft.card.adaptive
	Content     Card   `json:"content"`
}

// Card is the part of an Adaptive Card 1.4 that Send uses.
type Card struct {
	Schema  string        `json:"$schema"`
	Type    string        `json:"type"` // "AdaptiveCard"
	Version string        `json:"version"`
	Body    []CardElement `json:"body"`
	Actions []CardAction  `json:"actions,omitempty"`
	// MSTeams widens the card to the channel's width: facts and image
	// digests are long.
	MSTeams map[string]string `json:"msteams,omitempty"`
}

// CardElement is a TextBlock (Text) or a FactSet (Facts).
type CardElement struct {
	Type   string     `json:"type"`
	Text   string     `json:"text,omitempty"`
	Size   string     `json:"size,omitempty"`
	Weight string     `json:"weight,omitempty"`
	Color  string     `json:"color,omitempty"`
	Wrap   bool       `json:"wrap,omitempty"`
	Facts  []CardFact `json:"facts,omitempty"`
}

// CardFact is one line of a FactSet.
type CardFact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

// CardAction is an Action.OpenUrl button.
type CardAction struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

// TeamsMessage is the payload Send posts: the title (coloured by the
// kind), the message, a FactSet of the event's facts and values, the
// changes, and buttons opening the run and the deployment.
func TeamsMessage(e Event) TeamsPayload {
	body := []CardElement{{Type: "TextBlock", Text: e.title(), Size: "Medium", Weight: "Bolder", Color: cardColor(e.Kind), Wrap: true}}
	if e.Message != "" {
		body = append(body, CardElement{Type: "TextBlock", Text: e.Message, Wrap: true})
	}
	var facts []CardFact
	for _, f := range e.facts() {
		facts = append(facts, CardFact{Title: f[0], Value: f[1]})
	}
	for _, v := range e.Values {
		facts = append(facts, CardFact{Title: v.Name, Value: v.text()})
	}
	if len(facts) > 0 {
		body = append(body, CardElement{Type: "FactSet", Facts: facts})
	}
	if len(e.Changes) > 0 {
		body = append(body, CardElement{Type: "TextBlock", Text: teamsChanges(e.Changes), Wrap: true})
	}
	var actions []CardAction
	if e.RunURL != "" {
		actions = append(actions, CardAction{Type: "Action.OpenUrl", Title: "Workflow run", URL: e.RunURL})
	}
	if e.DeploymentURL != "" {
		actions = append(actions, CardAction{Type: "Action.OpenUrl", Title: "Deployment", URL: e.DeploymentURL})
	}
	return TeamsPayload{Type: "message", Attachments: []TeamsAttachment{{
		ContentType: "application/vnd.microsoft.card.adaptive",
		Content: Card{
			Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.4",
			Body: body, Actions: actions, MSTeams: map[string]string{"width": "Full"},
		},
	}}}
}

func cardColor(k Kind) string {
	switch k {
	case Success:
		return "Good"
	case Hold:
		return "Warning"
	case Abort, Rollback, Failure:
		return "Attention"
	}
	return "Default"
}

// teamsChanges lists the commits in the Markdown subset a TextBlock shows.
func teamsChanges(changes []Change) string {
	var b strings.Builder
	b.WriteString("**Changes**")
	for i, c := range changes {
		if i == slackChangesMax {
			fmt.Fprintf(&b, "\n- … and %d more", len(changes)-i)
			break
		}
		sha := c.short()
		if c.URL != "" {
			sha = fmt.Sprintf("[%s](%s)", sha, c.URL)
		}
		fmt.Fprintf(&b, "\n- %s %s", sha, c.Title)
		if c.Author != "" {
			fmt.Fprintf(&b, " (%s)", c.Author)
		}
		if c.PR > 0 {
			fmt.Fprintf(&b, " #%d", c.PR)
		}
	}
	return b.String()
}
