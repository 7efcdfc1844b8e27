# syntax=docker/dockerfile:1

# Build stage: a static binary, so the final image needs no libc.
FROM golang:1.26 AS build
WORKDIR /src
# Dependencies first, so editing code does not re-download modules.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /usagelens ./cmd/usagelens
# An empty /datasets for the final image, which has no shell to make one: a
# named volume mounted there (docker-compose.yml's "datasets") starts as a
# copy of it, owned by the image's user, so `seed --out /datasets/...` can
# write.
RUN mkdir -p /out/datasets /out/exports

# Final stage: no shell, no package manager, runs as uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /usagelens /usagelens
COPY --from=build --chown=65532:65532 /out/datasets /datasets
# Export job files (serve's --export-dir), writable by the image's user.
COPY --from=build --chown=65532:65532 /out/exports /exports
ENV USAGELENS_EXPORT_DIR=/exports
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usagelens"]
# The image holds no clickhouse-server, so serve needs CLICKHOUSE_DSN (or
# --clickhouse-dsn) pointing at a server; see docker-compose.yml. Listen on
# all interfaces: a loopback listener would be unreachable from outside.
CMD ["serve", "--listen", ":8080"]
