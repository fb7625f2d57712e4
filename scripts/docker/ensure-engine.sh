#!/usr/bin/env bash
# Make sure a Docker engine is running on this machine, offline-friendly.
#
#   scripts/docker/ensure-engine.sh
#
# Idempotent: if `docker info` already works it exits 0 at once. Otherwise it
#   1. installs Debian's docker.io (daemon, containerd, runc, iptables) via
#      apt-get if dockerd is missing (no systemd needed, nothing pulled),
#   2. picks a storage driver that really mounts here: overlay2 if a test
#      overlay mount on /var/lib/docker's filesystem works, else fuse-overlayfs
#      (if /dev/fuse exists), else vfs (slow, but always works),
#   3. starts dockerd in the background with nohup, logging to
#      /var/log/dockerd.log, and waits up to 60 s for `docker info`.
#
# Env overrides:
#   DOCKER_STORAGE_DRIVER  force a storage driver (skip the probe)
#   DOCKERD_LOG            log file            (default /var/log/dockerd.log)
#   DOCKERD_WAIT           seconds to wait     (default 60)
#   DOCKERD_EXTRA_ARGS     extra dockerd flags (word-split)
set -euo pipefail

LOG_FILE="${DOCKERD_LOG:-/var/log/dockerd.log}"
WAIT_SECS="${DOCKERD_WAIT:-60}"
DATA_ROOT="/var/lib/docker"

say() { echo "[ensure-engine] $*" >&2; }
die() { echo "[ensure-engine] ERROR: $*" >&2; exit 1; }

if docker info >/dev/null 2>&1; then
  say "docker engine already running ($(docker info --format '{{.ServerVersion}} / {{.Driver}}' 2>/dev/null))"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "not root and no sudo: cannot install or start dockerd"
  SUDO="sudo -n"
fi

# The daemon may be running while our client just cannot reach it (e.g. a
# non-root user not in the docker group): report that instead of starting a
# second daemon.
if pgrep -x dockerd >/dev/null 2>&1; then
  for _ in $(seq 1 "$WAIT_SECS"); do
    docker info >/dev/null 2>&1 && { say "docker engine came up"; exit 0; }
    sleep 1
  done
  die "dockerd is running (pid $(pgrep -x dockerd | tr '\n' ' ')) but 'docker info' fails; see $LOG_FILE"
fi

apt_install() {
  # Try with the current package lists first (fast); refresh them only if that fails.
  local env=(env DEBIAN_FRONTEND=noninteractive)
  if ! $SUDO "${env[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; then
    say "apt-get update"
    $SUDO "${env[@]}" apt-get update -qq >/dev/null
    $SUDO "${env[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  fi
}

# --- 1. install ---------------------------------------------------------------
if ! command -v dockerd >/dev/null 2>&1; then
  say "installing docker.io via apt-get"
  # Keep the package's init script from starting its own daemon: we start it below.
  created_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  rc=0
  apt_install docker.io || rc=$?
  [ -n "$created_policy" ] && $SUDO rm -f /usr/sbin/policy-rc.d
  [ "$rc" -eq 0 ] || die "apt-get install docker.io failed (rc=$rc)"
  command -v dockerd >/dev/null 2>&1 || die "docker.io installed but dockerd is not on PATH"
fi
if ! command -v docker >/dev/null 2>&1; then
  die "dockerd is installed but no docker client is on PATH"
fi

# --- 2. storage driver ----------------------------------------------------------
probe_overlay() {
  local t rc=1
  $SUDO mkdir -p "$DATA_ROOT"
  t="$($SUDO mktemp -d "$DATA_ROOT/.ovl-probe.XXXXXX")"
  $SUDO mkdir -p "$t/lower" "$t/upper" "$t/work" "$t/merged"
  if $SUDO mount -t overlay overlay \
      -o "lowerdir=$t/lower,upperdir=$t/upper,workdir=$t/work" "$t/merged" 2>/dev/null; then
    if $SUDO touch "$t/merged/probe" 2>/dev/null && [ -e "$t/upper/probe" ]; then rc=0; fi
    $SUDO umount "$t/merged" 2>/dev/null || true
  fi
  $SUDO rm -rf "$t"
  return $rc
}

config_sets() { [ -f /etc/docker/daemon.json ] && grep -q "\"$1\"" /etc/docker/daemon.json; }

driver_args=()
if config_sets storage-driver; then
  say "storage driver taken from /etc/docker/daemon.json"
elif [ -n "${DOCKER_STORAGE_DRIVER:-}" ]; then
  driver_args=(--storage-driver "$DOCKER_STORAGE_DRIVER")
  say "storage driver forced: $DOCKER_STORAGE_DRIVER"
elif probe_overlay; then
  driver_args=(--storage-driver overlay2)
  say "storage driver: overlay2 (test mount ok)"
elif [ -e /dev/fuse ]; then
  command -v fuse-overlayfs >/dev/null 2>&1 || apt_install fuse-overlayfs
  driver_args=(--storage-driver fuse-overlayfs)
  say "storage driver: fuse-overlayfs (kernel overlay mount failed)"
else
  driver_args=(--storage-driver vfs)
  say "storage driver: vfs (no overlay, no /dev/fuse; images take full copies per layer)"
fi

# --- 3. start -------------------------------------------------------------------
# Bridge networking needs forwarding; dockerd enables it too, this is belt and braces.
$SUDO sysctl -q -w net.ipv4.ip_forward=1 >/dev/null 2>&1 || true
# A stale pid file from a killed daemon stops a new one from starting.
if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid 2>/dev/null)" 2>/dev/null; then
  $SUDO rm -f /var/run/docker.pid
fi

# shellcheck disable=SC2206
extra_args=(${DOCKERD_EXTRA_ARGS:-})
say "starting dockerd (log: $LOG_FILE)"
$SUDO mkdir -p "$(dirname "$LOG_FILE")"
# setsid+nohup: the daemon outlives this shell and the caller's process group.
$SUDO sh -c 'exec setsid nohup "$@" >>"'"$LOG_FILE"'" 2>&1 </dev/null &' sh \
  dockerd --host unix:///var/run/docker.sock "${driver_args[@]}" "${extra_args[@]}"

start=$(date +%s)
while :; do
  if docker info >/dev/null 2>&1; then break; fi
  if ! pgrep -x dockerd >/dev/null 2>&1; then
    tail -n 30 "$LOG_FILE" >&2 || true
    die "dockerd exited during start-up; log above ($LOG_FILE)"
  fi
  if [ $(( $(date +%s) - start )) -ge "$WAIT_SECS" ]; then
    tail -n 30 "$LOG_FILE" >&2 || true
    die "dockerd did not answer 'docker info' within ${WAIT_SECS}s; log above ($LOG_FILE)"
  fi
  sleep 0.5
done

say "docker engine ready in $(( $(date +%s) - start ))s: $(docker info --format 'server {{.ServerVersion}}, driver {{.Driver}}, cgroup {{.CgroupDriver}} v{{.CgroupVersion}}' 2>/dev/null)"
