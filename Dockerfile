# One image with every deploy-actions binary, for docker users and other CI
# systems:  docker run --rm ghcr.io/fxplatform/deploy-actions deploy --help
#
# The binaries are static (no cgo) and run as the distroless nonroot user.
#
# The base images are build arguments so that a mirror (or the stand-ins of
# scripts/dockerfile_test.go, where no registry with the real ones is
# reachable) can replace them; the defaults are what users get, pinned by
# the digest of their multi-platform index (the tag says what it is, the
# digest which one), as every `uses:` is pinned by commit. Moving a base is
# a reviewed commit; scripts/test checks the defaults stay pinned.
ARG GO_IMAGE=golang:1.26@sha256:3aff6657219a4d9c14e27fb1d8976c49c29fddb70ba835014f477e1c70636647
ARG BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY pkg ./pkg
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/ \
      ./cmd/build-push ./cmd/scan ./cmd/sign ./cmd/deploy ./cmd/verify ./cmd/promote ./cmd/rollback

FROM ${BASE_IMAGE}
COPY --from=build /out/ /usr/local/bin/
USER 65532:65532
ENTRYPOINT []
CMD ["build-push", "--help"]
