// Package filecmd reads the runner's file-command format ($GITHUB_OUTPUT,
// $GITHUB_ENV, and a CLI run's outputs on stdout): the format alone, with
// nothing of the action runtime, so that a library's tools (the benchmarks)
// can read what an action wrote.
package filecmd

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Read parses a runner file command ($GITHUB_OUTPUT and the like) the way
// the runner does: "name=value" lines and "name<<DELIM" heredocs. A later
// key overrides an earlier one.
func Read(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 64*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		eq := strings.Index(line, "=")
		hd := strings.Index(line, "<<")
		if eq >= 0 && (hd < 0 || eq < hd) {
			out[line[:eq]] = line[eq+1:]
			continue
		}
		if hd < 0 {
			return nil, fmt.Errorf("invalid line %q", line)
		}
		name, delim := line[:hd], line[hd+2:]
		if name == "" || delim == "" {
			return nil, fmt.Errorf("invalid heredoc line %q", line)
		}
		var lines []string
		closed := false
		for sc.Scan() {
			if sc.Text() == delim {
				closed = true
				break
			}
			lines = append(lines, sc.Text())
		}
		if !closed {
			return nil, fmt.Errorf("heredoc %q: delimiter %q not found", name, delim)
		}
		out[name] = strings.Join(lines, "\n")
	}
	return out, sc.Err()
}
