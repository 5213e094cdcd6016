// Module sandbox-build/node builds the sandbox's real node (kubelet and
// kube-proxy) from the same Kubernetes source as the control plane. It is
// kept apart from sandbox-build/kube so that the node's extra packages do
// not change the control plane's cache key, and from the project's go.mod
// for the same reason as that module.
package node
