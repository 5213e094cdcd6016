// Package kubectl exists so that this module has a package; kubectl is
// built with `go build k8s.io/kubernetes/cmd/kubectl` from this directory.
package kubectl
