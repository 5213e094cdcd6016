package notify

import "context"

// Receiver delivers events to one destination.
type Receiver interface {
	// Name names the receiver in warnings ("Slack"). It must not reveal
	// the receiver's URL or secret.
	Name() string
	// Send delivers one event, within ctx. Its error must not reveal the
	// URL or secret either.
	Send(ctx context.Context, e Event) error
}
