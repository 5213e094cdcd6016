package rollout

import (
	"fmt"
	"strconv"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/traffic"
	corev1 "k8s.io/api/core/v1"
)

// Prefix of the annotations that record a rollout's state on the live
// Service.
const Prefix = "rollout.fxplatform.dev/"

// Phases of a rollout, as recorded.
const (
	PhaseProgressing = "progressing"
	PhasePromoted    = "promoted"
	PhaseAborted     = "aborted"
	PhaseRolledBack  = "rolled-back"
)

// State is what promote and rollback record on the live Service, so that
// a later run resumes, no-ops or undoes without any memory of its own.
type State struct {
	Phase          string
	ActiveColor    string
	ActiveImage    string
	PreviousColor  string
	PreviousImage  string
	CandidateColor string
	CandidateImage string
	// Step is the number of traffic steps completed; Weight the canary's
	// share last set.
	Step   int
	Weight int
	// Replicas is the active colour's replica count, for a cold rollback.
	Replicas int32
	// Deployment and ColorLabel are the app's, as promote was given them
	// (the Service's namespace and name are where the state is): a
	// rollback given others would switch to the wrong Deployments.
	Deployment string
	ColorLabel string
	// Router and its objects, so rollback moves traffic the same way.
	Router    string
	HTTPRoute string
	Ingress   string
	Owner     string
	Reason    string
	// Paused says who holds the rollout at its weight, and since when;
	// Analysis is the last measurement, in a line.
	Paused    string
	Analysis  string
	StartedAt time.Time
	UpdatedAt time.Time
}

// ReadState reads the state recorded on a Service (zero State if none).
func ReadState(svc *corev1.Service) State {
	a := svc.Annotations
	get := func(k string) string { return a[Prefix+k] }
	num := func(k string) int { n, _ := strconv.Atoi(get(k)); return n }
	at := func(k string) time.Time { t, _ := time.Parse(time.RFC3339, get(k)); return t }
	return State{
		Phase: get("phase"), ActiveColor: get("active-color"), ActiveImage: get("active-image"),
		PreviousColor: get("previous-color"), PreviousImage: get("previous-image"),
		CandidateColor: get("candidate-color"), CandidateImage: get("candidate-image"),
		Step: num("step"), Weight: num("weight"), Replicas: int32(num("replicas")),
		Deployment: get("deployment"), ColorLabel: get("color-label"),
		Router: get("router"), HTTPRoute: get("httproute"), Ingress: get("ingress"),
		Owner: get("owner"), Reason: get("reason"), Paused: get("paused"), Analysis: get("analysis"), StartedAt: at("started-at"), UpdatedAt: at("updated-at"),
	}
}

// Annotations writes the state as annotations (empty fields remove theirs).
func (s State) Annotations() map[string]string {
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	m := map[string]string{
		"phase": s.Phase, "active-color": s.ActiveColor, "active-image": s.ActiveImage,
		"previous-color": s.PreviousColor, "previous-image": s.PreviousImage,
		"candidate-color": s.CandidateColor, "candidate-image": s.CandidateImage,
		"step": strconv.Itoa(s.Step), "weight": strconv.Itoa(s.Weight), "replicas": fmt.Sprint(s.Replicas),
		"deployment": s.Deployment, "color-label": s.ColorLabel,
		"router": s.Router, "httproute": s.HTTPRoute, "ingress": s.Ingress,
		"owner": s.Owner, "reason": s.Reason, "paused": s.Paused, "analysis": s.Analysis, "started-at": ts(s.StartedAt), "updated-at": ts(s.UpdatedAt),
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[Prefix+k] = v
	}
	return out
}

// Other returns the other colour.
func Other(colour string) string { return traffic.Other(colour) }

// checkApp refuses to act on app when the state was recorded for another
// Deployment or colour label (states recorded before these were kept are
// not checked).
func (s State) checkApp(app traffic.App) error {
	if s.Deployment != "" && s.Deployment != app.Deployment {
		return fmt.Errorf("the state on service %q was recorded for deployment %q, not %q", app.Service, s.Deployment, app.Deployment)
	}
	if s.ColorLabel != "" && s.ColorLabel != app.ColorLabel {
		return fmt.Errorf("the state on service %q was recorded for colour label %q, not %q", app.Service, s.ColorLabel, app.ColorLabel)
	}
	return nil
}
