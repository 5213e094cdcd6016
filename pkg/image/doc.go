// Package image builds container images without a Docker engine and pushes
// them to a registry, in the manner of ko and `crane append`: an image is a
// base image (or scratch) plus layers made from files of a context
// directory.
//
// Builds are reproducible: layer entries are sorted, owned by root, have
// normalised modes and a fixed timestamp, and the image config's creation
// time is given by the caller. The same inputs give the same digest.
//
// Memory does not grow with the context: a layer is tarred and compressed
// into a temporary file while its digest is computed, then offered to the
// registry by digest and uploaded from the file only if the registry lacks
// it, so a push from a fresh machine sends nothing the registry already
// holds. The context is split into several layers that compress in
// parallel, and a local cache of layer digests lets a rebuild with no
// change skip compression too.
//
// The usual flow is
//
//	b, err := image.NewBuilder(image.WithKeychain(kc))
//	img, err := b.Build(ctx, image.Spec{Context: ".", Created: t})
//	res, err := b.Push(ctx, img, "ghcr.io/acme/app", []string{"1.2.3"})
//
// The package prints nothing; progress goes to a Reporter given with
// WithReporter.
package image
