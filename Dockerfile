# One image with every deploy-actions binary, for docker users and other CI
# systems:  docker run --rm ghcr.io/fxplatform/deploy-actions deploy --help
#
# The binaries are static (no cgo) and run as the distroless nonroot user.
#
# The base images are build arguments so that a mirror (or the stand-ins of
# scripts/dockerfile_test.go, where no registry with the real ones is
# reachable) can replace them; the defaults are what users get.
ARG GO_IMAGE=golang:1.26
ARG BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot

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
