package image_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/image"
	"github.com/google/go-containerregistry/pkg/authn"
)

// Build the current directory onto a base image for two platforms and push
// it with the tags of a release.
func Example() {
	ctx := context.Background()
	kc := image.NewKeychain(image.Credentials{GitHubActor: "octocat", GitHubToken: os.Getenv("GITHUB_TOKEN")}, authn.DefaultKeychain)
	b, err := image.NewBuilder(image.WithKeychain(kc), image.WithCacheDir(image.DefaultCacheDir(os.Getenv)))
	if err != nil {
		fmt.Println(err)
		return
	}
	platforms, _ := image.ParsePlatforms("linux/amd64,linux/arm64")
	tags, _ := image.DefaultTags("refs/tags/v1.2.3", "0123456789abcdef")
	img, err := b.Build(ctx, image.Spec{
		Context:    ".",
		Files:      []image.Mapping{{Src: "dist", Dest: "/app"}},
		Base:       "ghcr.io/acme/node:22",
		Platforms:  platforms,
		Entrypoint: []string{"node", "/app/server.js"},
		Created:    time.Unix(1764000000, 0),
		Revision:   "0123456789abcdef",
		Version:    image.RefVersion("refs/tags/v1.2.3"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := b.Push(ctx, img, "ghcr.io/acme/fx-platform", tags)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.ImageRef, res.Tags)
}

func ExampleDefaultTags() {
	tags, _ := image.DefaultTags("refs/tags/v1.2.3", "0123456789abcdef")
	fmt.Println(tags)
	tags, _ = image.DefaultTags("refs/tags/v1.3.0-rc.1", "0123456789abcdef")
	fmt.Println(tags)
	tags, _ = image.DefaultTags("refs/pull/42/merge", "0123456789abcdef")
	fmt.Println(tags)
	// Output:
	// [1.2.3 1.2 1 latest sha-0123456]
	// [1.3.0-rc.1 sha-0123456]
	// [pr-42 sha-0123456]
}
