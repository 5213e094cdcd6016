package image

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestPushInProcess(t *testing.T) {
	host := inProcessRegistry(t)
	dir := writeTree(t, map[string]string{"server.js": "console.log(1)\n", "bin/run*": "#!/bin/sh\n", "public/index.html": "<p>hi</p>"})
	b := newTestBuilder(t)
	ctx := context.Background()
	img, err := b.Build(ctx, Spec{Context: dir, Created: created, Entrypoint: []string{"/app/bin/run"}, Ports: []string{"3000/tcp"}, Revision: "abc"})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	res, err := b.Push(ctx, img, host+"/acme/app", []string{"1.2.3", "latest"})
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	t.Logf("%+v", res)
	ref, _ := name.ParseReference(host + "/acme/app:1.2.3")
	got, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := got.Digest()
	if d != res.Digest {
		t.Errorf("digest %s, want %s", d, res.Digest)
	}
	t.Logf("%v", filesOf(t, got))
}
