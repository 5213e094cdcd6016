package action

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/fxplatform/deploy-actions/pkg/action/filecmd"
)

// ErrDelimiterInValue is returned when a value contains the heredoc
// delimiter chosen for it. With a random delimiter this only happens to a
// value crafted after the fact; it is refused rather than written, since the
// runner would read the rest of the value as further keys (the bug class of
// CVE-2022-35954).
var ErrDelimiterInValue = errors.New("value contains the file-command delimiter")

// writeFileCommand appends name=value to a runner file command
// ($GITHUB_OUTPUT, $GITHUB_ENV, $GITHUB_STATE) in heredoc form with a fresh
// random delimiter. go-githubactions uses a fixed delimiter and does not
// check the value for it, so it is not used here.
func writeFileCommand(path, name, value string) error {
	if err := checkName(name); err != nil {
		return err
	}
	entry, err := heredoc(name, value)
	if err != nil {
		return err
	}
	return appendFile(path, entry)
}

func checkName(name string) error {
	if name == "" || strings.ContainsAny(name, "=\r\n<") {
		return fmt.Errorf("name %q is empty or contains '=', '<' or a line break", name)
	}
	return nil
}

func heredoc(name, value string) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("making a delimiter: %w", err)
	}
	delim := "ghadelimiter_" + hex.EncodeToString(b[:])
	if strings.Contains(value, delim) {
		return "", fmt.Errorf("%q: %w", name, ErrDelimiterInValue)
	}
	return name + "<<" + delim + "\n" + value + "\n" + delim + "\n", nil
}

// ReadFileCommands parses a runner file command ($GITHUB_OUTPUT and the
// like) the way the runner does (see filecmd.Read). Tests use it to read
// what an action wrote, exactly as the runner would.
func ReadFileCommands(r io.Reader) (map[string]string, error) { return filecmd.Read(r) }
