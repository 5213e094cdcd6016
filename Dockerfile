# One image with every deploy-actions binary, for docker users and other CI
# systems:  docker run --rm ghcr.io/fxplatform/deploy-actions deploy --help
#
# The binaries are static (no cgo) and run as the distroless nonroot user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY pkg ./pkg
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/ \
      ./cmd/build-push ./cmd/scan ./cmd/sign ./cmd/deploy ./cmd/verify ./cmd/promote ./cmd/rollback

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
USER 65532:65532
ENTRYPOINT []
CMD ["build-push", "--help"]
