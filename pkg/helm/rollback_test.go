package helm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	rcommon "helm.sh/helm/v4/pkg/release/common"
)

func TestRollback(t *testing.T) {
	errNotReady := errors.New("resource Deployment/default/fx not ready. status: InProgress")
	const digestC = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	tests := []struct {
		name        string
		deploys     []string
		stuck       bool    // a killed run left revision len(deploys)+1 pending
		waits       []error // scripted results of the rollback's wait
		revision    int
		wantErr     string
		wantHistory string
		wantFrom    int
		wantTo      int
		wantRev     int
		wantStatus  string
		wantDigest  string
	}{
		{name: "previous", deploys: []string{digestA, digestB}, wantHistory: "1:superseded 2:superseded 3:deployed",
			wantFrom: 2, wantTo: 1, wantRev: 3, wantStatus: "deployed", wantDigest: digestA},
		{name: "explicit revision", deploys: []string{digestA, digestB, digestC}, revision: 1,
			wantHistory: "1:superseded 2:superseded 3:superseded 4:deployed", wantFrom: 3, wantTo: 1, wantRev: 4, wantStatus: "deployed", wantDigest: digestA},
		{name: "previous skips a stuck revision", deploys: []string{digestA, digestB}, stuck: true,
			wantHistory: "1:superseded 2:superseded 3:failed 4:deployed", wantFrom: 3, wantTo: 2, wantRev: 4, wantStatus: "deployed", wantDigest: digestB},
		{name: "not ready", deploys: []string{digestA, digestB}, waits: []error{errNotReady}, wantErr: "not ready",
			wantHistory: "1:superseded 2:deployed 3:failed", wantFrom: 2, wantTo: 1, wantRev: 3, wantStatus: "failed", wantDigest: digestA},
		{name: "absent release", wantErr: `release not found: "fx" in namespace "default"`, wantHistory: ""},
		{name: "no earlier revision", deploys: []string{digestA}, wantErr: "no deployed revision before revision 1",
			wantHistory: "1:deployed", wantFrom: 1},
		{name: "no such revision", deploys: []string{digestA, digestB}, revision: 7, wantErr: "no revision 7 (revisions 1 to 2 are stored)",
			wantHistory: "1:superseded 2:deployed", wantFrom: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			waits := make([]error, len(tc.deploys))
			c, _ := newTestClient(t, append(waits, tc.waits...)...)
			var manifest string
			for _, d := range tc.deploys {
				res, err := c.Deploy(context.Background(), request(t, d))
				if err != nil {
					t.Fatal(err)
				}
				manifest = res.Manifest
			}
			if tc.stuck {
				stick(t, c, len(tc.deploys)+1, rcommon.StatusPendingUpgrade, manifest)
			}
			res, err := c.Rollback(context.Background(), RollbackRequest{Release: "fx", Revision: tc.revision, Wait: true, Timeout: time.Minute, Reason: "test"})
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Rollback() error = %v, want %q", err, tc.wantErr)
			}
			if got := history(t, c, "fx"); got != tc.wantHistory {
				t.Errorf("history = %q, want %q", got, tc.wantHistory)
			}
			if res.From != tc.wantFrom || res.To != tc.wantTo || res.Revision != tc.wantRev || res.Status != tc.wantStatus {
				t.Errorf("from %d to %d, revision %d %q; want from %d to %d, revision %d %q",
					res.From, res.To, res.Revision, res.Status, tc.wantFrom, tc.wantTo, tc.wantRev, tc.wantStatus)
			}
			want := ""
			if tc.wantDigest != "" {
				want = "127.0.0.1:5000/fx-platform@" + tc.wantDigest
			}
			if res.Image != want {
				t.Errorf("image = %q, want %q", res.Image, want)
			}
		})
	}
}

func TestRollbackRecordsReason(t *testing.T) {
	c, _ := newTestClient(t)
	for _, d := range []string{digestA, digestB} {
		if _, err := c.Deploy(context.Background(), request(t, d)); err != nil {
			t.Fatal(err)
		}
	}
	reason := strings.Repeat("x", 300)
	if _, err := c.Rollback(context.Background(), RollbackRequest{Release: "fx", Reason: reason}); err != nil {
		t.Fatal(err)
	}
	last, err := c.last("fx")
	if err != nil {
		t.Fatal(err)
	}
	if d := last.Info.Description; !strings.HasPrefix(d, "Rollback to 1: xxx") || len([]rune(d)) != 256 {
		t.Errorf("description = %q (%d runes), want the reason cut to 256 runes", d, len([]rune(d)))
	}
}
