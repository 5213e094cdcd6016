package main

import (
	"strings"
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
)

// TestBadInput: every bad input is refused before the first request to the
// cluster, in one error that names the input once.
func TestBadInput(t *testing.T) {
	cluster, receiver := actiontest.NewTLSServer(t, nil), actiontest.NewServer(t, nil)
	actiontest.BadInputs{
		Spec: spec, Run: run,
		Good:    map[string]string{"command": "status", "service": "fx-platform-service", "deployment": "fx-platform", "kubeconfig": cluster.Kubeconfig()},
		Servers: []*actiontest.Server{cluster, receiver},
		Check: func(t *testing.T, r *actiontest.Runner) {
			if errs := r.Annotations("error"); len(errs) == 1 && strings.Count(errs[0], `input "`) != 1 {
				t.Errorf("error %q names an input more than once", errs[0])
			}
		},
	}.Test(t, []actiontest.BadInput{
		{Name: "unknown verb", Set: map[string]string{"command": "restart"}, Input: "command"},
		{Name: "no verb", Set: map[string]string{"command": ""}, Input: "command"},
		{Name: "ack-timeout zero", Set: map[string]string{"ack-timeout": "0s"}, Input: "ack-timeout"},
		{Name: "ack-timeout negative", Set: map[string]string{"ack-timeout": "-1s"}, Input: "ack-timeout"},
		{Name: "ack-timeout not a duration", Set: map[string]string{"ack-timeout": "soon"}, Input: "ack-timeout"},
		{Name: "timeout not a duration", Set: map[string]string{"timeout": "soon"}, Input: "timeout"},
		{Name: "webhook-url over plain http to another host", Set: map[string]string{"command": "pause", "webhook-url": "http://10.0.0.1/x", "webhook-secret": "s"}, Input: "webhook-url"},
		{Name: "webhook-secret without its webhook", Set: map[string]string{"command": "pause", "webhook-secret": "s"}, Input: "webhook-url"},
		{Name: "service missing", Set: map[string]string{"service": ""}, Input: "service"},
	})
}
