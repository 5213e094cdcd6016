package scan

import (
	"errors"
	"fmt"
)

// DatabaseError means the vulnerability database could not be read or the
// OSV API failed: the scan has no answer, which is never the same as "no
// vulnerabilities". Commands exit with a code of their own for it.
type DatabaseError struct {
	Source string // the osv-db path or the API URL
	Err    error
}

func (e *DatabaseError) Error() string {
	return fmt.Sprintf("reading vulnerability database %q: %v", e.Source, e.Err)
}
func (e *DatabaseError) Unwrap() error { return e.Err }

// BudgetError means the files the extractors need (package databases,
// lockfiles, binaries) do not fit in the scan's memory budget: the scan
// stopped before it knew every package, so it has no answer either.
type BudgetError struct {
	Path   string // the file that did not fit
	Size   int64  // its size in bytes
	Kept   int64  // what the scan held already
	Budget int64
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("%q (%d bytes) does not fit in the scan's memory budget of %d bytes (%d kept already): the scan is incomplete", e.Path, e.Size, e.Budget, e.Kept)
}

// ErrThreshold is returned by Report.Err when findings at or above the
// severity threshold remain after ignores.
var ErrThreshold = errors.New("vulnerabilities at or above the severity threshold")
