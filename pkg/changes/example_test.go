package changes_test

import (
	"context"
	"fmt"
	"os"

	"github.com/fxplatform/deploy-actions/pkg/changes"
	"github.com/fxplatform/deploy-actions/pkg/github"
	"github.com/fxplatform/deploy-actions/pkg/image"
)

// After an abort, list what the candidate brought in the step summary and
// the notification. Without a token, the report gives the revisions only.
func Example() {
	ctx := context.Background()
	var cmp changes.Comparer // nil: no token
	if token := os.Getenv("GITHUB_TOKEN"); token != "" {
		gh, err := github.New("acme/fx", token, os.Getenv("GITHUB_API_URL"), nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		cmp = gh
	}
	rep := changes.Collect(ctx,
		"ghcr.io/acme/fx@sha256:1111111111111111111111111111111111111111111111111111111111111111",
		"ghcr.io/acme/fx@sha256:4444444444444444444444444444444444444444444444444444444444444444",
		image.Remote{UserAgent: "deploy-actions/promote"}, cmp)
	fmt.Print(rep.Markdown())
	fmt.Println(rep.Summary())
	for _, c := range rep.Changes() {
		fmt.Println(c.SHA[:7], c.Title, c.Author, c.PRURL)
	}
}

func ExampleReport_Markdown() {
	rep := changes.Report{
		Stable:    changes.Revision{Image: "ghcr.io/acme/fx@sha256:aaaa", Revision: "1111111111111111111111111111111111111111", Source: "https://github.com/acme/fx"},
		Candidate: changes.Revision{Image: "ghcr.io/acme/fx@sha256:bbbb", Revision: "4444444444444444444444444444444444444444", Source: "https://github.com/acme/fx"},
	}
	fmt.Print(rep.Markdown())
	// Output:
	// #### Changes between stable and candidate
	//
	// Stable → candidate: [`1111111` → `4444444`](https://github.com/acme/fx/compare/1111111111111111111111111111111111111111...4444444444444444444444444444444444444444). No GitHub token was given: the commits between them are not listed.
}
