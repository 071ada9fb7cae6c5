# The slogate image: /webhook and /analyzer, static, on distroless as user 65532 (nonroot).
#
#   docker build -t ghcr.io/slogate/slogate:v0.1.0 .
#
# This file is for users who build their own image. It has not been built in this repository's
# CI, which runs without a container runtime; the binaries it builds are the ones `make build`
# builds and the end-to-end tests run.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH=amd64
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags="-s -w" -o /out/webhook ./cmd/webhook && \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags="-s -w" -o /out/analyzer ./cmd/analyzer

FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/webhook /webhook
COPY --from=build /out/analyzer /analyzer
USER 65532:65532
ENTRYPOINT ["/webhook"]
