// Command bench measures build-push against `crane append` + `crane push`
// on the same generated context, in the same run, against the same local
// Debian docker-registry. scripts/bench build-push runs it; see there.
//
//	bench run  -work DIR -crane PATH     the whole comparison, markdown on stdout
//	bench gen  DIR                       only generate the context
//	bench push -context DIR -repo R ...  one build and push (measured by run)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/image"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench run|gen|push ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		if len(os.Args) != 3 {
			err = fmt.Errorf("usage: bench gen DIR")
			break
		}
		err = generate(os.Args[2])
	case "push":
		err = pushCmd(ctx, os.Args[2:])
	case "run":
		err = runCmd(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// pushResult is what `bench push` prints for `bench run`.
type pushResult struct {
	Digest        string `json:"digest"`
	Layers        int    `json:"layers"`
	Size          int64  `json:"size"`
	BytesUploaded int64  `json:"bytesUploaded"`
}

func pushCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	dir := fs.String("context", "", "context directory")
	repo := fs.String("repo", "", "repository")
	tag := fs.String("tag", "bench", "tag")
	cache := fs.String("cache", "", "layer cache directory")
	insecure := fs.String("insecure", "", "plain HTTP registry host")
	level := fs.Int("level", 1, "gzip level")
	layers := fs.Int("layers", 0, "layers (0: automatic)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := []image.Option{image.WithCacheDir(*cache), image.WithCompressionLevel(*level)}
	if *insecure != "" {
		opts = append(opts, image.WithInsecureRegistries(*insecure))
	}
	b, err := image.NewBuilder(opts...)
	if err != nil {
		return err
	}
	img, err := b.Build(ctx, image.Spec{Context: *dir, Created: time.Unix(1764000000, 0), Layers: *layers})
	if err != nil {
		return err
	}
	res, err := b.Push(ctx, img, *repo, []string{*tag})
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(pushResult{Digest: res.Digest.String(), Layers: len(res.Layers), Size: res.Size, BytesUploaded: res.BytesUploaded})
}

func numCPU() int { return runtime.NumCPU() }
