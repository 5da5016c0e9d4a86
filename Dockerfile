# syntax=docker/dockerfile:1
# Latchkey in a container: build in a Rust image, run in a slim Debian one as
# a non-root user, with the data file on a volume.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependencies first, so they are cached while only our code changes.
COPY Cargo.toml Cargo.lock ./
# The manifest names the benchmark target, so its file must exist to build.
COPY benches benches
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src
COPY src src
COPY assets assets
COPY config.toml ./
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin latchkey

FROM debian:bookworm-slim
# curl answers the health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 latchkey \
    && useradd --system --uid 10001 --gid latchkey --home-dir /data --shell /usr/sbin/nologin latchkey \
    && mkdir -p /data /etc/latchkey \
    && chown latchkey:latchkey /data
COPY --from=build /src/target/release/latchkey /usr/local/bin/latchkey
COPY config.toml /etc/latchkey/config.toml

# Container defaults; set LATCHKEY_SERVER__PUBLIC_URL to the address people use.
ENV LATCHKEY_SERVER__LISTEN=0.0.0.0:8080 \
    LATCHKEY_STORAGE__DATA_DIR=/data \
    LATCHKEY_LOG__FORMAT=json

USER latchkey:latchkey
VOLUME ["/data"]
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz >/dev/null || exit 1

ENTRYPOINT ["latchkey", "--config", "/etc/latchkey/config.toml"]
CMD ["serve"]
