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

// ErrThreshold is returned by Report.Err when findings at or above the
// severity threshold remain after ignores.
var ErrThreshold = errors.New("vulnerabilities at or above the severity threshold")
