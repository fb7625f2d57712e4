# localhost/agency/sandbox:latest — where the agency runs untrusted build/test commands.
#
# NODE_IMAGE defaults to the official Node 24 slim image (users with a
# registry build it as usual); the offline path builds localhost/agency/node:24 first
# and passes  --build-arg NODE_IMAGE=localhost/agency/node:24 .
# Built with the legacy builder (no BuildKit syntax) so Debian's docker.io works.
ARG NODE_IMAGE=docker.io/library/node:24-bookworm-slim
FROM ${NODE_IMAGE}

# uid/gid of the non-root user that runs commands; match the host user that
# owns the bind-mounted /workspace so files stay writable on both sides.
ARG AGENT_UID=1000
ARG AGENT_GID=1000

# Toolchain a typical JS/TS repository needs to install and test (git for
# clones, python3/make/g++ for native node-gyp modules, procps for ps/kill),
# tini as PID 1 to reap zombies and forward signals. No recommends, no lists.
RUN set -eux; \
    export DEBIAN_FRONTEND=noninteractive; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
      ca-certificates git python3 make g++ procps tini; \
    apt-get clean; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log

# The command server's own node: executable, not readable. A process started from a file it
# cannot read is not dumpable, so the agent's commands (the same uid, no capability) can neither
# ptrace it nor read its memory, and what it kills after each command stays killed. The runner
# starts the server from the path this label names (images without it: plain node, and a warning).
RUN install -o root -g root -m 0111 "$(readlink -f "$(command -v node)")" /usr/local/lib/agency-server-node
LABEL agency.command-server-node=/usr/local/lib/agency-server-node

# The base images already own uid/gid 1000 (user `node`): free the requested
# ids first so `agent` gets exactly them. uid/gid 0 is refused: agent is never root.
RUN set -eux; \
    [ "$AGENT_UID" -ne 0 ] && [ "$AGENT_GID" -ne 0 ]; \
    old_user="$(getent passwd "$AGENT_UID" | cut -d: -f1)"; \
    if [ -n "$old_user" ]; then userdel "$old_user"; rm -rf "/home/$old_user"; fi; \
    old_group="$(getent group "$AGENT_GID" | cut -d: -f1)"; \
    if [ -n "$old_group" ]; then groupdel "$old_group"; fi; \
    groupadd --gid "$AGENT_GID" agent; \
    useradd --uid "$AGENT_UID" --gid "$AGENT_GID" --shell /bin/bash --create-home agent; \
    mkdir -p /workspace; \
    chown agent:agent /workspace

# HOME stays /home/agent; with --read-only, point caches at a tmpfs, e.g.
#   -e npm_config_cache=/tmp/.npm
ENV HOME=/home/agent
USER agent
WORKDIR /workspace

# tini -s: works as PID 1 and also under `docker run --init` (subreaper mode).
ENTRYPOINT ["/usr/bin/tini", "-s", "--"]
CMD ["bash"]
