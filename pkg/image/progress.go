package image

import v1 "github.com/google/go-containerregistry/pkg/v1"

// Reporter receives progress events. Calls may come from several
// goroutines at once.
type Reporter interface {
	Report(Event)
}

// ReporterFunc adapts a function to Reporter.
type ReporterFunc func(Event)

// Report calls f(e).
func (f ReporterFunc) Report(e Event) { f(e) }

// EventKind says what an Event reports.
type EventKind int

// The events a Builder reports, in the order they happen.
const (
	// EventBaseResolved: Message is the base reference, Digest its digest.
	EventBaseResolved EventKind = iota + 1
	// EventFilesScanned: Message is the context, Bytes the size of its files.
	EventFilesScanned
	// EventLayerCached: a layer's digest came from the cache.
	EventLayerCached
	// EventLayerPushed: a layer is in place; Bytes is its compressed size,
	// Uploaded whether its bytes were sent.
	EventLayerPushed
	// EventTagPushed: Message is the tag, Digest the manifest's digest.
	EventTagPushed
	// EventBuilderOutput: Message is a line of buildah's or docker's output.
	EventBuilderOutput
)

// Event is one progress report.
type Event struct {
	Kind     EventKind
	Message  string
	Digest   v1.Hash
	Bytes    int64
	Uploaded bool
}
