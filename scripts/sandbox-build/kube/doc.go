// Package kube exists so that this module has a package; the binaries are
// built with `go build k8s.io/kubernetes/cmd/...` from this directory by
// scripts/sandbox (see pkg/internal/sandbox/build.go).
package kube
