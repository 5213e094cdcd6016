// Module sandbox-build/pause is the real node's pod sandbox ("pause")
// image: no registry that serves the usual one is reachable here, so the
// sandbox builds this, pushes it to its own registry and names it as
// containerd's sandbox_image.
module github.com/fxplatform/deploy-actions/scripts/sandbox-build/pause

go 1.26.8
