# syntax=docker/dockerfile:1
# Latchkey in a container: built in the Rust image, run from distroless as a
# non-root user, with the data file on a volume.
#
#   docker build -t latchkey .
#   docker run -p 8080:8080 -v latchkey-data:/data \
#       -e LATCHKEY_SERVER__PUBLIC_URL=https://accounts.example.com latchkey
#
# deploy/compose.yaml runs it behind Caddy (TLS); see the README.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependencies first, in a layer of their own, rebuilt only when the manifest
# or the lock file changes: a placeholder crate pulls them all in.
COPY Cargo.toml Cargo.lock ./
# The manifest names benchmark targets, and cargo wants their files to exist.
COPY benches benches
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src
# Then our code: src, the embedded assets, and the documented default config.
COPY src src
COPY assets assets
COPY config.toml ./
# touch: copied files keep their own times, which can be older than the
# placeholder's build, and cargo would keep the placeholder.
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --bin latchkey \
    && install -D -m 0755 target/release/latchkey /out/latchkey \
    && install -d -m 0700 /out/data

# Distroless: glibc, libgcc, CA certificates and tzdata, no shell or package
# manager (nothing for an intruder to use, little to patch). Debian 12 like
# the build image, so the binary finds the glibc it was linked against.
# The health check is the binary's own `latchkey healthcheck`, as there is no curl.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/latchkey /usr/local/bin/latchkey
# The data folder belongs to the user the server runs as, mode 0700; a new
# named volume starts as a copy of it.
COPY --from=build --chown=65532:65532 /out/data /data
# The documented defaults; the environment below and at `docker run` wins,
# or mount a file of your own over this one.
COPY config.toml /etc/latchkey/config.toml

# LATCHKEY_CONFIG lets every command find the file (the health check,
# `docker exec … latchkey user list`). Set LATCHKEY_SERVER__PUBLIC_URL to the
# address people use.
ENV LATCHKEY_CONFIG=/etc/latchkey/config.toml \
    LATCHKEY_SERVER__LISTEN=0.0.0.0:8080 \
    LATCHKEY_STORAGE__DATA_DIR=/data \
    LATCHKEY_LOG__FORMAT=json

# distroless's "nonroot" user, by number so that a runtime can check it
# (Kubernetes' runAsNonRoot).
USER 65532:65532
VOLUME ["/data"]
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/usr/local/bin/latchkey", "healthcheck"]

ENTRYPOINT ["/usr/local/bin/latchkey"]
CMD ["serve"]
