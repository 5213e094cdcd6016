package image

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestDockerfileBases(t *testing.T) {
	for _, tc := range []struct {
		name, dockerfile string
		args             map[string]string
		want             []string
	}{
		{"plain and stage", "FROM reg.example:5000/go:1 AS Build\nFROM build\nFROM scratch\n", nil, []string{"reg.example:5000"}},
		{"docker hub", "FROM golang:1.26\n", nil, []string{"index.docker.io"}},
		{"by digest, platform", "FROM --platform=$BUILDPLATFORM ghcr.io/a/b@sha256:" + "0123456789012345678901234567890123456789012345678901234567890123" + "\n", nil, []string{"ghcr.io"}},
		{"arg default", "ARG BASE=reg.example/go:1\nFROM ${BASE}\n", nil, []string{"reg.example"}},
		{"arg overridden", "ARG BASE=reg.example/go:1\nFROM $BASE\n", map[string]string{"BASE": "other.example/go:1"}, []string{"other.example"}},
		// The shell forms Docker expands in FROM.
		{"default form", "ARG BASE\nFROM ${BASE:-reg.example/go:1}\n", nil, []string{"reg.example"}},
		{"alternative form", "ARG MIRROR=1\nFROM ${MIRROR:+mirror.example/}go:1\n", nil, []string{"mirror.example"}},
		// A meta ARG's default refers to an earlier one.
		{"arg of arg", "ARG REG=reg.example\nARG BASE=${REG}/go:1\nFROM $BASE\n", nil, []string{"reg.example"}},
		// A build arg no ARG before the first FROM declares does not reach it.
		{"undeclared build arg", "FROM ${BASE:-reg.example/go:1}\n", map[string]string{"BASE": "other.example/go:1"}, []string{"reg.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "Dockerfile")
			if err := os.WriteFile(path, []byte(tc.dockerfile), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := dockerfileBases(path, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("dockerfileBases = %q, want %q", got, tc.want)
			}
		})
	}
}
