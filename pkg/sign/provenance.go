package sign

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// BuildContext is what a GitHub Actions run says about itself, read by the
// caller from the runner's environment.
type BuildContext struct {
	ServerURL   string // GITHUB_SERVER_URL, https://github.com
	Repository  string // GITHUB_REPOSITORY, acme/app
	SHA         string // GITHUB_SHA
	Ref         string // GITHUB_REF
	WorkflowRef string // GITHUB_WORKFLOW_REF, acme/app/.github/workflows/release.yml@refs/tags/v1.2.3
	RunID       string // GITHUB_RUN_ID
	RunAttempt  string // GITHUB_RUN_ATTEMPT
	EventName   string // GITHUB_EVENT_NAME
	StartedOn   time.Time
	FinishedOn  time.Time
}

// Validate reports the fields a provenance statement cannot do without.
func (b BuildContext) Validate() error {
	var missing []string
	for k, v := range map[string]string{"GITHUB_SERVER_URL": b.ServerURL, "GITHUB_REPOSITORY": b.Repository, "GITHUB_SHA": b.SHA, "GITHUB_WORKFLOW_REF": b.WorkflowRef, "GITHUB_RUN_ID": b.RunID} {
		if v == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("provenance needs %s", strings.Join(missing, ", "))
	}
	return nil
}

// BuildType identifies the recipe in provenance statements written here.
const BuildType = "https://github.com/fxplatform/deploy-actions/build-push@v1"

// Provenance is an SLSA provenance v1 statement for ref, built by the
// workflow b names: the builder id is the workflow file at its ref, the
// invocation is the run (and attempt), and the source is the repository at
// its commit.
func Provenance(ref name.Digest, b BuildContext) (Statement, error) {
	if err := b.Validate(); err != nil {
		return Statement{}, err
	}
	server := strings.TrimSuffix(b.ServerURL, "/")
	repoURL := server + "/" + b.Repository
	attempt := b.RunAttempt
	if attempt == "" {
		attempt = "1"
	}
	type dep struct {
		URI    string            `json:"uri"`
		Digest map[string]string `json:"digest"`
	}
	pred := map[string]any{
		"buildDefinition": map[string]any{
			"buildType": BuildType,
			"externalParameters": map[string]any{
				"workflow": map[string]string{"ref": b.Ref, "repository": repoURL, "path": workflowPath(b.WorkflowRef)},
				"image":    ref.Context().Name(),
			},
			"internalParameters": map[string]string{"github_event_name": b.EventName},
			"resolvedDependencies": []dep{{
				URI:    "git+" + repoURL + "@" + b.Ref,
				Digest: map[string]string{"gitCommit": b.SHA},
			}},
		},
		"runDetails": map[string]any{
			"builder": map[string]string{"id": server + "/" + b.WorkflowRef},
			"metadata": map[string]any{
				"invocationId": fmt.Sprintf("%s/actions/runs/%s/attempts/%s", repoURL, b.RunID, attempt),
				"startedOn":    timeOrNil(b.StartedOn),
				"finishedOn":   timeOrNil(b.FinishedOn),
			},
		},
	}
	raw, err := json.Marshal(pred)
	if err != nil {
		return Statement{}, err
	}
	return Statement{Subject: ref, PredicateType: PredicateSLSAProvenance1, Predicate: raw}, nil
}

// workflowPath is the file part of GITHUB_WORKFLOW_REF
// (owner/repo/.github/workflows/x.yml@ref).
func workflowPath(workflowRef string) string {
	p, _, _ := strings.Cut(workflowRef, "@")
	parts := strings.SplitN(p, "/", 3)
	if len(parts) < 3 {
		return p
	}
	return parts[2]
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}
