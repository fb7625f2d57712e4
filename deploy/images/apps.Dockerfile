# localhost/agency/<app> — the seven services and the dashboard, one image each, from one multi-stage file.
#
# Build context: staged by scripts/images/stage-context.mjs (scripts/images/build-apps.sh does it):
#   dist.tar          compiled apps and libs (node tools/build.mjs), with the @agency/* package links
#   node_modules.tar  production dependencies only, without type declarations, sources and maps
# (ADD unpacks them; tars because the legacy builder checksums each file of a COPY on every
# build), so nothing is compiled or downloaded here, and no dev dependency reaches an image.
#
#   docker build -f deploy/images/apps.Dockerfile --target orchestrator -t localhost/agency/orchestrator <context>
#
# NODE_IMAGE / BASE_IMAGE default to the official images (users with a registry build as usual);
# the offline path passes --build-arg NODE_IMAGE=localhost/agency/node:24 --build-arg BASE_IMAGE=localhost/agency/debian:bookworm
# (both built locally by scripts/docker/build-images.sh). No BuildKit-only syntax: the legacy
# builder of Debian's docker.io builds it.
#
# Two runtime stages, so each image carries only what its service runs:
#   runtime      Debian + the node binary: orchestrator, router, registry, reviewer, llm-gateway,
#                dashboard. No npm, no shell tools beyond the base, no package manager cache.
#   runtime-git  the node image (node + npm) + git and tini: agent-runner (git worktrees; the
#                process sandbox runs the repository's own `npm test`) and git-service (push, merge).
# Layers are ordered base -> tools -> node -> node_modules -> dist, so a code change rebuilds
# only the last, small layer of each chain.
ARG NODE_IMAGE=docker.io/library/node:24-bookworm-slim
ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${NODE_IMAGE} AS node

# ---------------------------------------------------------------- runtime (node only)
FROM ${BASE_IMAGE} AS runtime
# uid/gid 1000 like the official node image and localhost/agency/sandbox, so bind-mounted volumes
# (vault, forge, work dirs) have one owner everywhere. No login shell, no password.
RUN set -eux; \
    groupadd --gid 1000 node; \
    useradd --uid 1000 --gid node --shell /usr/sbin/nologin --create-home node
COPY --from=node /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
ADD node_modules.tar /app/
ADD dist.tar /app/
ENV NODE_ENV=production
USER 1000:1000

# ---------------------------------------------------------------- runtime-git (node, npm, git)
FROM ${NODE_IMAGE} AS runtime-git
# The node image already has user node (1000:1000). tini reaps the git/npm grandchildren that
# a Node PID 1 would leave as zombies, and forwards SIGTERM.
RUN set -eux; \
    export DEBIAN_FRONTEND=noninteractive; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates git tini; \
    apt-get clean; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log; \
    git --version
WORKDIR /app
ADD node_modules.tar /app/
ADD dist.tar /app/
ENV NODE_ENV=production
USER 1000:1000
ENTRYPOINT ["/usr/bin/tini", "--"]

# ---------------------------------------------------------------- one final stage per app
# HTTP_PORT is each service's default, set here so HEALTHCHECK (docker run / compose; Kubernetes
# uses its own probes) knows where to ask.

FROM runtime AS orchestrator
ENV HTTP_PORT=7100
EXPOSE 7100
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.HTTP_PORT+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--enable-source-maps", "dist/apps/orchestrator/src/main.js"]

FROM runtime AS router
ENV HTTP_PORT=7101
EXPOSE 7101
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.HTTP_PORT+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--enable-source-maps", "dist/apps/router/src/main.js"]

FROM runtime AS registry
ENV HTTP_PORT=7102
EXPOSE 7102
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.HTTP_PORT+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--enable-source-maps", "dist/apps/registry/src/main.js"]

FROM runtime-git AS agent-runner
ENV HTTP_PORT=7103
EXPOSE 7103
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.HTTP_PORT+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--enable-source-maps", "dist/apps/agent-runner/src/main.js"]

FROM runtime AS reviewer
ENV HTTP_PORT=7104
EXPOSE 7104
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.HTTP_PORT+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--enable-source-maps", "dist/apps/reviewer/src/main.js"]

FROM runtime-git AS git-service
ENV HTTP_PORT=7105
EXPOSE 7105
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.HTTP_PORT+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--enable-source-maps", "dist/apps/git-service/src/main.js"]

FROM runtime AS llm-gateway
ENV HTTP_PORT=7106
EXPOSE 7106
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.HTTP_PORT+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--enable-source-maps", "dist/apps/llm-gateway/src/main.js"]

FROM runtime AS dashboard
ENV HTTP_PORT=7107
EXPOSE 7107
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.HTTP_PORT+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--enable-source-maps", "dist/apps/dashboard/src/main.js"]
