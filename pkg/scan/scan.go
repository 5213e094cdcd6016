package scan

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Scan reads img's packages and matches them with m. A database that
// cannot be consulted gives a *DatabaseError, never an empty result.
func Scan(ctx context.Context, img v1.Image, m Matcher) (*Inventory, []Finding, error) {
	inv, err := ReadInventory(ctx, img)
	if err != nil {
		return nil, nil, err
	}
	vulns, err := m.Match(ctx, inv.Packages())
	if err != nil {
		return nil, nil, err
	}
	return inv, Findings(inv, vulns), nil
}
