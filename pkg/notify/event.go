// Package notify tells people about rollout events (a start, each traffic
// step, a hold for approval, an abort, the outcome) through Slack, Microsoft
// Teams and a signed JSON webhook. Delivery never holds a rollout: events
// are queued and sent in the background, and flushing them at the end
// takes at most a fixed budget.
package notify

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// Kind is what happened to a rollout.
type Kind string

// The kinds of event, in the order a rollout may go through them.
const (
	Start Kind = "start"
	// Step is a traffic step reached, with the measurements that let it pass.
	Step Kind = "step"
	// Hold is a pause that waits for a person to approve or resume.
	Hold   Kind = "hold"
	Resume Kind = "resume"
	// Abort is a rollout stopped by its analysis or by a person, traffic
	// back on the stable image.
	Abort    Kind = "abort"
	Success  Kind = "success"
	Rollback Kind = "rollback"
	// Failure is a run that ended in an error, not by a decision.
	Failure Kind = "failure"
)

// Kinds lists every Kind, in that order.
func Kinds() []Kind { return []Kind{Start, Step, Hold, Resume, Abort, Success, Rollback, Failure} }

// Statuses of a Value.
const (
	Pass         = "pass"
	Fail         = "fail"
	Inconclusive = "inconclusive"
)

// Event is one thing worth telling people about a rollout. The generic
// webhook sends it as JSON with the snake_case field names in the tags
// below; empty fields are left out, except kind, action, service, weight,
// title and time. Duration is sent as duration_seconds (a number).
type Event struct {
	Kind Kind `json:"kind"`
	// Action is the action that sent the event: deploy, promote, rollback
	// or control.
	Action string `json:"action"`
	// Service is namespace/name, or the Helm release.
	Service     string `json:"service"`
	Environment string `json:"environment,omitempty"`
	// Image is the candidate, repo@sha256:...; StableImage what it replaces.
	Image       string `json:"image,omitempty"`
	StableImage string `json:"stable_image,omitempty"`
	// Weight is the candidate's percentage of traffic, -1 when unknown.
	Weight int `json:"weight"`
	// Title is one line; Notify makes one from the fields above when empty.
	Title   string `json:"title"`
	Message string `json:"message,omitempty"`
	// Reason says why a rollout held, aborted, failed or was rolled back.
	Reason string `json:"reason,omitempty"`
	// Values are a step's measurements, the values that failed an abort,
	// or the KPI table of a success.
	Values []Value `json:"values,omitempty"`
	// Duration is how long the rollback (or the rollout) took.
	Duration time.Duration `json:"-"`
	// RunURL is the workflow run's page; DeploymentURL the GitHub
	// Deployment's (either may be empty). Notify fills them from Options.
	RunURL        string `json:"run_url,omitempty"`
	DeploymentURL string `json:"deployment_url,omitempty"`
	// Changes are the commits between the stable and the candidate image.
	Changes []Change  `json:"changes,omitempty"`
	Time    time.Time `json:"time"`
}

// Value is one measured KPI and the bound it was held to.
type Value struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Target string `json:"target,omitempty"`
	// Status is Pass, Fail or Inconclusive (no data is not success).
	Status string `json:"status,omitempty"`
}

// Change is one commit of the release.
type Change struct {
	SHA    string `json:"sha"`
	Title  string `json:"title"`
	Author string `json:"author,omitempty"`
	URL    string `json:"url,omitempty"`
	// PR is the pull request's number, 0 for none.
	PR int `json:"pr,omitempty"`
}

// eventJSON adds duration_seconds: a Go duration would be sent as
// nanoseconds, which no one reading the payload expects.
type eventJSON struct {
	event
	DurationSeconds float64 `json:"duration_seconds,omitempty"`
}

type event Event

// MarshalJSON writes the documented payload of the generic webhook.
func (e Event) MarshalJSON() ([]byte, error) {
	return json.Marshal(eventJSON{event: event(e), DurationSeconds: e.Duration.Seconds()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (e *Event) UnmarshalJSON(b []byte) error {
	var j eventJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*e = Event(j.event)
	e.Duration = time.Duration(math.Round(j.DurationSeconds * float64(time.Second)))
	return nil
}

// title is the event's Title, or its headline when it has none.
func (e Event) title() string {
	if e.Title != "" {
		return e.Title
	}
	return e.headline()
}

// headline is the title Notify gives an event that has none:
// "promote fx-prod/fx-platform to production: aborted at 25 %".
func (e Event) headline() string {
	var b strings.Builder
	b.WriteString(e.Action)
	if e.Service != "" {
		b.WriteString(" " + e.Service)
	}
	if e.Environment != "" {
		b.WriteString(" to " + e.Environment)
	}
	b.WriteString(": ")
	switch e.Kind {
	case Start:
		b.WriteString("started")
	case Step:
		b.WriteString("traffic")
	case Hold:
		b.WriteString("held for approval")
	case Resume:
		b.WriteString("resumed")
	case Abort:
		b.WriteString("aborted")
	case Success:
		b.WriteString("succeeded")
	case Rollback:
		b.WriteString("rolled back")
	case Failure:
		b.WriteString("failed")
	default:
		b.WriteString(string(e.Kind))
	}
	if e.Weight >= 0 && e.Kind != Start && e.Kind != Success && e.Kind != Rollback {
		fmt.Fprintf(&b, " at %d %%", e.Weight)
	}
	return b.String()
}

// facts are the event's own fields worth a line, before its Values.
func (e Event) facts() [][2]string {
	var f [][2]string
	add := func(name, value string) {
		if value != "" {
			f = append(f, [2]string{name, value})
		}
	}
	add("Environment", e.Environment)
	add("Service", e.Service)
	add("Image", e.Image)
	add("Stable image", e.StableImage)
	if e.Weight >= 0 {
		add("Traffic on the candidate", fmt.Sprintf("%d %%", e.Weight))
	}
	if e.Duration > 0 {
		add("Duration", e.Duration.Round(time.Millisecond).String())
	}
	add("Reason", e.Reason)
	return f
}

// text is a Value on one line: "0.8 % (target < 0.1 %): fail".
func (v Value) text() string {
	s := v.Value
	if v.Target != "" {
		s += " (target " + v.Target + ")"
	}
	if v.Status != "" {
		s += ": " + v.Status
	}
	return s
}

// short is a commit's SHA as people read it.
func (c Change) short() string {
	if len(c.SHA) > 7 {
		return c.SHA[:7]
	}
	return c.SHA
}
