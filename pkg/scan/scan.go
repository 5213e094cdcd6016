package scan

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Scan reads img's packages within budget and matches them with m. A
// database that cannot be consulted gives a *DatabaseError, and an image
// whose files do not fit the budget a *BudgetError, never an empty result.
func Scan(ctx context.Context, img v1.Image, m Matcher, budget Budget) (*Inventory, []Finding, error) {
	inv, err := ReadInventory(ctx, img, budget)
	if err != nil {
		return nil, nil, err
	}
	vulns, err := m.Match(ctx, inv.Packages())
	if err != nil {
		return nil, nil, err
	}
	return inv, Findings(inv, vulns), nil
}
