//go:build tools

// Package traefik pins the Traefik command this module builds
// (github.com/traefik/traefik/v3/cmd/traefik), so that go mod tidy keeps
// its dependencies.
package traefik

import _ "github.com/traefik/traefik/v3/cmd/traefik"
