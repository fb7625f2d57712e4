#!/usr/bin/env bash
# Build the agency's app images (seven services + dashboard) and nats, without a registry, named
# $IMAGE_PREFIX/<app> (default localhost/agency/<app>: a registry host, never Docker Hub).
#
#   scripts/images/build-apps.sh [--force] [--registry] [--skip-compile] [--export FILE] [app ... | nats]
#   APPS="orchestrator dashboard" scripts/images/build-apps.sh
#
# Steps:
#   1. a Docker engine (scripts/docker/ensure-engine.sh when `docker info` fails);
#   2. the base images $IMAGE_PREFIX/debian:bookworm and $IMAGE_PREFIX/node:24 (scripts/docker/build-images.sh,
#      which skips existing ones) unless --registry;
#   3. `node tools/build.mjs` (SWC into dist/; incremental) unless --skip-compile;
#   4. the build context: scripts/images/stage-context.mjs (dist + production node_modules,
#      hard links, no network);
#   5. one `docker build --target <app>` of deploy/images/apps.Dockerfile per app, tagged
#      $IMAGE_PREFIX/<app>:<TAG> and :latest; $IMAGE_PREFIX/nats:<version> from the host's
#      nats-server binary (deploy/images/nats.Dockerfile).
#
# --export FILE: also `docker save` the images built into FILE (a tar for k3s:
#   sudo k3s ctr images import FILE; then deploy/k8s/pin-images.sh pins the overlay to their digests).
#
# Idempotent: the Docker layer cache makes an unchanged rebuild a no-op (same image ids); a
# code change rebuilds only the dist layer. --force disables the cache. The image an app tag
# pointed at before is removed when the tag moves (fails harmlessly while in use).
#
# Env:
#   APPS            apps to build (space/comma separated; arguments take precedence)
#   TAG             image tag besides :latest (default: package.json version, e.g. 0.1.0)
#   IMAGE_PREFIX    registry host and path of the images (default localhost/agency; with a
#                   registry of yours, e.g. registry.example.com/agency, then docker push them)
#   BUILD_NETWORK   "host" or "default" for the RUN apt-get step of runtime-git (default: probed)
#   KEEP_CONTEXT=1  keep the staged context dir (printed) for inspection
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DOCKERFILE="$ROOT/deploy/images/apps.Dockerfile"
ALL_APPS=(orchestrator router registry agent-runner reviewer git-service llm-gateway dashboard)
NODE="$ROOT/node_modules/.bin/node"
[ -x "$NODE" ] || NODE="$(command -v node)"
export DOCKER_BUILDKIT=0   # Debian's docker.io 20.10 has no buildx; the Dockerfiles need no BuildKit

say() { echo "[build-apps] $*" >&2; }
die() { echo "[build-apps] ERROR: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

FORCE=0; REGISTRY=0; COMPILE=1; EXPORT=""; want=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    -f|--force) FORCE=1 ;;
    --registry) REGISTRY=1 ;;
    --skip-compile) COMPILE=0 ;;
    --export) [ "$#" -ge 2 ] || die "--export needs a file name"; EXPORT="$2"; shift ;;
    -h|--help) usage 0 ;;
    -*) say "unknown option: $1"; usage 2 ;;
    *) want+=("$1") ;;
  esac
  shift
done
[ "${#want[@]}" -gt 0 ] || read -r -a want <<<"$(echo "${APPS:-${ALL_APPS[*]} nats}" | tr ',' ' ')"
apps=(); want_nats=0
for w in "${want[@]}"; do
  w="${w##*/}"; w="${w%%:*}"
  if [ "$w" = nats ]; then want_nats=1; continue; fi
  [[ " ${ALL_APPS[*]} " == *" $w "* ]] || die "unknown image '$w' (choose from: ${ALL_APPS[*]} nats)"
  apps+=("$w")
done
TAG="${TAG:-$("$NODE" -p "require('$ROOT/package.json').version")}"
[[ "$TAG" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "TAG '$TAG' is not a valid image tag"

IMAGE_PREFIX="${IMAGE_PREFIX:-localhost/agency}"
case "${IMAGE_PREFIX%%/*}" in
  localhost|localhost:*|*.*|*:*) ;;
  *) die "IMAGE_PREFIX '$IMAGE_PREFIX' must start with a registry host (localhost/..., registry.example.com/...): a bare name is pulled from Docker Hub" ;;
esac

T0="$(now)"
CTX=""; NATS_CTX=""
cleanup() {
  if [ -n "$CTX" ] && [ "${KEEP_CONTEXT:-0}" != 1 ]; then rm -rf "$CTX"; fi
  if [ -n "$NATS_CTX" ]; then rm -rf "$NATS_CTX"; fi
}
trap cleanup EXIT

# 1. engine
docker info >/dev/null 2>&1 || bash "$ROOT/scripts/docker/ensure-engine.sh"

# 2. base images
base_args=()
if [ "$REGISTRY" -eq 0 ]; then
  if ! docker image inspect "$IMAGE_PREFIX/node:24" >/dev/null 2>&1 || ! docker image inspect "$IMAGE_PREFIX/debian:bookworm" >/dev/null 2>&1; then
    say "building base images ($IMAGE_PREFIX/debian, $IMAGE_PREFIX/node)"
    IMAGE_PREFIX="$IMAGE_PREFIX" bash "$ROOT/scripts/docker/build-images.sh" debian node
  fi
  base_args=(--build-arg "NODE_IMAGE=$IMAGE_PREFIX/node:24" --build-arg "BASE_IMAGE=$IMAGE_PREFIX/debian:bookworm")
fi
cache_args=(); [ "$FORCE" -eq 1 ] && cache_args=(--no-cache)

summary=()
built_images=()
record() { summary+=("$(printf '%-28s %-8s %7ss %9s' "$1" "$2" "$3" "$4")"); }
size_of() { docker image inspect -f '{{.Size}}' "$1" 2>/dev/null | awk '{ printf "%.1f MB", $1 / 1e6 }'; }

# 3-5. apps
if [ "${#apps[@]}" -gt 0 ]; then
  if [ "$COMPILE" -eq 1 ]; then
    t="$(now)"; (cd "$ROOT" && "$NODE" tools/build.mjs --quiet); say "compiled dist/ in $(elapsed "$t")s"
  fi
  CTX="$(mktemp -d /var/tmp/agency-apps-ctx.XXXXXX)"
  t="$(now)"; "$NODE" "$ROOT/scripts/images/stage-context.mjs" "$CTX" "${apps[@]}"; say "staged context in $(elapsed "$t")s"
  [ "${KEEP_CONTEXT:-0}" = 1 ] && say "context kept in $CTX"

  # runtime-git installs git with apt-get: use the bridge if it reaches the mirror, else the host network.
  net_args=(); net="${BUILD_NETWORK:-}"
  if [ -z "$net" ]; then
    probe_image="$IMAGE_PREFIX/node:24"; [ "$REGISTRY" -eq 1 ] && probe_image=docker.io/library/node:24-bookworm-slim
    if docker run --rm --entrypoint /bin/bash "$probe_image" -c \
        'h=$(sed -n "s#^URIs: *[a-z]*://\([^/:]*\).*#\1#p" /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1); timeout 8 bash -c "exec 3<>/dev/tcp/${h:-deb.debian.org}/80"' \
        >/dev/null 2>&1; then net=default; else net=host; fi
  fi
  [ "$net" = host ] && net_args=(--network host)

  # The legacy builder builds every stage before the target, so with --force the first app
  # rebuilds both runtime chains from scratch and the others reuse those fresh layers.
  first_cache_args=("${cache_args[@]}")
  for app in "${apps[@]}"; do
    image="$IMAGE_PREFIX/$app:$TAG"
    old_id="$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)"
    t="$(now)"
    log="$(mktemp /var/tmp/agency-build-$app.XXXXXX.log)"
    if ! docker build "${first_cache_args[@]}" "${base_args[@]}" "${net_args[@]}" --target "$app" \
        --label "org.opencontainers.image.title=agency-$app" --label "org.opencontainers.image.version=$TAG" \
        -t "$image" -t "$IMAGE_PREFIX/$app:latest" -f "$DOCKERFILE" "$CTX" >"$log" 2>&1; then
      tail -n 40 "$log" >&2; rm -f "$log"
      die "docker build $image failed"
    fi
    rm -f "$log"
    first_cache_args=()
    new_id="$(docker image inspect -f '{{.Id}}' "$image")"
    state=built
    if [ "$old_id" = "$new_id" ]; then state=cached
    elif [ -n "$old_id" ]; then docker rmi "$old_id" >/dev/null 2>&1 || true; fi
    record "$image" "$state" "$(elapsed "$t")" "$(size_of "$image")"
    built_images+=("$image")
    say "$image $state ($(elapsed "$t")s)"
  done
fi

# nats: the host's nats-server (Debian package) on the debian base image
if [ "$want_nats" -eq 1 ]; then
  nats_bin="$(command -v nats-server || true)"
  if [ -z "$nats_bin" ]; then
    say "no nats-server on the PATH: skipping $IMAGE_PREFIX/nats (apt-get install nats-server)"
  else
    version="$("$nats_bin" --version | sed -E 's/.*v([0-9][0-9.]*).*/\1/')"
    image="$IMAGE_PREFIX/nats:$version"
    NATS_CTX="$(mktemp -d /var/tmp/agency-nats-ctx.XXXXXX)"
    cp "$nats_bin" "$NATS_CTX/nats-server"
    nats_base=(); [ "$REGISTRY" -eq 0 ] && nats_base=(--build-arg "BASE_IMAGE=$IMAGE_PREFIX/debian:bookworm")
    old_id="$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)"
    t="$(now)"
    docker build "${cache_args[@]}" "${nats_base[@]}" -t "$image" -t "$IMAGE_PREFIX/nats:latest" \
      -f "$ROOT/deploy/images/nats.Dockerfile" "$NATS_CTX" >/dev/null \
      || die "docker build $image failed"
    new_id="$(docker image inspect -f '{{.Id}}' "$image")"
    state=built; [ "$old_id" = "$new_id" ] && state=cached
    [ -n "$old_id" ] && [ "$old_id" != "$new_id" ] && { docker rmi "$old_id" >/dev/null 2>&1 || true; }
    record "$image" "$state" "$(elapsed "$t")" "$(size_of "$image")"
    built_images+=("$image")
  fi
fi

if [ -n "$EXPORT" ] && [ "${#built_images[@]}" -gt 0 ]; then
  t="$(now)"
  docker save -o "$EXPORT" "${built_images[@]}"
  say "exported ${#built_images[@]} images to $EXPORT ($(du -h "$EXPORT" | cut -f1), $(elapsed "$t")s): sudo k3s ctr images import $EXPORT"
fi

say "summary (total $(elapsed "$T0")s; sizes are whole images: the runtime layers are shared):"
for line in "${summary[@]:-}"; do [ -n "$line" ] && echo "  $line" >&2; done
