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
# a reviewed commit; scripts/test checks the defaults stay pinned, that
# every FROM and COPY --from names a pinned argument or a stage, and that
# GO_IMAGE's tag is go.mod's Go (the official images do not fetch another
# toolchain: GOTOOLCHAIN=local).
ARG GO_IMAGE=golang:1.26.8-bookworm@sha256:dc9ad6c05acc7a88e5b71bde60a5fe3bd4b9f0db209011711b464107438a8107
ARG BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY pkg ./pkg
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/ \
      ./cmd/build-push ./cmd/scan ./cmd/sign ./cmd/deploy ./cmd/verify ./cmd/promote ./cmd/rollback ./cmd/control ./cmd/monitoring ./cmd/migrate

FROM ${BASE_IMAGE}
COPY --from=build /out/ /usr/local/bin/
USER 65532:65532
ENTRYPOINT []
CMD ["build-push", "--help"]
