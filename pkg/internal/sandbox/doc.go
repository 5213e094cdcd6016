// Package sandbox starts the real servers the project's integration tests,
// scripts/sandbox and scripts/demo run against, all on 127.0.0.1:
//
//   - an OCI registry: Debian's docker-registry (StartRegistry,
//     NewTestRegistry), optionally with htpasswd auth and TLS;
//   - a Kubernetes control plane built from source (etcd, kube-apiserver,
//     kube-controller-manager, kube-scheduler) with kwok, so that pods on
//     fake nodes get IPs and become Ready without running containers;
//   - Debian's prometheus, scraping targets registered through file-based
//     service discovery (Sandbox.AddScrapeTarget).
//
// Up starts (or reuses) a whole sandbox in a state directory and Down stops
// it; Get hands an integration test a running sandbox (Get, Main and
// NewTestRegistry are built only with the integration tag, so unit tests
// cannot start a server). Servers missing from
// the machine are installed with apt-get when possible, or reported with the
// Debian package to install; waits have deadlines and errors name the
// component and show the end of its log.
package sandbox
