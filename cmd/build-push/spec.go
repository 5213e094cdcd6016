package main

import (
	"github.com/fxplatform/deploy-actions/cmd/internal/registry"
	"github.com/fxplatform/deploy-actions/pkg/action"
)

var spec = &action.Spec{
	Name:        "build-push",
	Description: "Build a container image without a Docker engine (base image plus layers made from files) and push it by digest.",
	Inputs: append([]action.Input{
		{Name: "image", Required: true, Kind: action.KindImage, Description: "Repository to push to, e.g. ghcr.io/acme/fx-platform (no tag)."},
		{Name: "context", Default: ".", Description: "Directory to package."},
		{Name: "files", Kind: action.KindLines, Description: "Newline list of SRC:DEST (SRC relative to context). SRC may name the platform, e.g. dist/{os}_{arch}/app:/app/, so that each platform gets its own build ({variant} too; platforms must then be given). Default: the whole context at /app."},
		{Name: "base", Default: "scratch", Description: "Base image reference; scratch is an empty image."},
		{Name: "platforms", Kind: action.KindList, Description: "Platforms, e.g. linux/amd64,linux/arm64. Default: every platform of the base (linux/amd64 for scratch)."},
		{Name: "entrypoint", Kind: action.KindList, Description: "Image entrypoint, newline or comma separated words."},
		{Name: "cmd", Kind: action.KindList, Description: "Image command, newline or comma separated words."},
		{Name: "workdir", Description: "Working directory of the image."},
		{Name: "user", Description: "User the image runs as, e.g. 65532:65532."},
		{Name: "env", Kind: action.KindMap, Description: "Newline KEY=VALUE environment of the image."},
		{Name: "labels", Kind: action.KindMap, Description: "Newline KEY=VALUE labels, added to the OCI labels set automatically."},
		{Name: "annotations", Kind: action.KindMap, Description: "Newline KEY=VALUE manifest annotations."},
		{Name: "ports", Kind: action.KindList, Description: "Exposed ports, e.g. 3000/tcp."},
		{Name: "tags", Kind: action.KindLines, Description: "Newline list of tags. Default: computed from GITHUB_REF (v1.2.3 -> 1.2.3, 1.2, 1, latest; branch -> its name; always sha-<7 hex>)."},
		{Name: "push", Default: "true", Kind: action.KindBool, Description: "Push to the registry; false writes an OCI layout to oci-layout-path instead."},
		{Name: "oci-layout-path", Description: "Where to write the image as an OCI layout when push is false."},
		{Name: "dockerfile", Description: "Optional Dockerfile: build it with docker buildx or buildah into an OCI layout, then push that. buildah pulls its base images (FROM) with the same credentials and insecure-registries as the push (an insecure base registry gets a registries.conf of its own, which then replaces the machine's mirrors); docker buildx with docker's own login."},
		{Name: "build-args", Kind: action.KindMap, Description: "Newline KEY=VALUE values of the Dockerfile's ARGs (--build-arg); with dockerfile only. They stay in the image's history: no secrets."},
		{Name: "target", Description: "Stage of the Dockerfile to build (FROM <image> AS <target>; --target), checked against the Dockerfile before anything runs. Default: its last stage. With dockerfile only."},
	}, registry.Inputs...),
	Outputs: []action.Output{
		{Name: "digest", Description: "sha256:... digest of the pushed manifest or index."},
		{Name: "image-ref", Description: "<image>@<digest>: the reference every later stage takes."},
		{Name: "tags", Description: "Newline list of the tags pushed."},
		{Name: "metadata", Description: "JSON: digest, tags, platforms, size."},
	},
}
