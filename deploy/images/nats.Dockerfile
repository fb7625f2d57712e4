# localhost/agency/nats — nats-server for local container runs (tests, docker run) without a registry.
#
# scripts/images/build-apps.sh stages the host's own nats-server binary (Debian's nats-server
# package: a Go binary linked only against glibc) as `nats-server` in the context. Production
# uses the official image instead (deploy/k8s: nats:2.12-alpine, which has `sync_interval`).
#
#   docker build -f deploy/images/nats.Dockerfile --build-arg BASE_IMAGE=localhost/agency/debian:bookworm -t localhost/agency/nats:<version> <context>
ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim
FROM ${BASE_IMAGE}
COPY nats-server /usr/local/bin/nats-server
RUN set -eux; \
    groupadd --gid 1000 nats; \
    useradd --uid 1000 --gid nats --shell /usr/sbin/nologin --no-create-home nats; \
    mkdir -p /data; \
    chown nats:nats /data; \
    nats-server --version
USER 1000:1000
VOLUME /data
# 4222 clients, 8222 HTTP monitoring (/healthz, /varz, /jsz)
EXPOSE 4222 8222
ENTRYPOINT ["/usr/local/bin/nats-server"]
CMD ["--jetstream", "--store_dir", "/data", "--http_port", "8222"]
