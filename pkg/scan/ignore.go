package scan

import (
	"fmt"
	"os"
	"time"

	"github.com/BurntSushi/toml"
)

// Ignore is one [[IgnoredVulns]] entry of an osv-scanner.toml file.
type Ignore struct {
	ID          string    `toml:"id" json:"id"`
	IgnoreUntil time.Time `toml:"ignoreUntil" json:"ignoreUntil,omitzero"`
	Reason      string    `toml:"reason" json:"reason,omitempty"`
}

// Expired reports whether the ignore has lapsed at now.
func (ig Ignore) Expired(now time.Time) bool {
	return !ig.IgnoreUntil.IsZero() && !now.Before(ig.IgnoreUntil)
}

// ReadIgnoreFile reads the [[IgnoredVulns]] of an osv-scanner.toml file.
// Other tables of the file are accepted and unused.
func ReadIgnoreFile(path string) ([]Ignore, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseIgnores(data)
}

// ParseIgnores parses osv-scanner.toml content.
func ParseIgnores(data []byte) ([]Ignore, error) {
	var cfg struct {
		IgnoredVulns []Ignore `toml:"IgnoredVulns"`
	}
	if err := toml.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("parsing ignore file: %w", err)
	}
	for i, ig := range cfg.IgnoredVulns {
		if ig.ID == "" {
			return nil, fmt.Errorf("parsing ignore file: IgnoredVulns entry %d has no id", i+1)
		}
	}
	return cfg.IgnoredVulns, nil
}
