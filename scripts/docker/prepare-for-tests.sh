#!/usr/bin/env bash
# Gives the sandbox tests a Docker engine and the locally built images. Without root (a developer
# laptop with its own Docker) it only checks that an engine answers.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" = "0" ]; then
  bash scripts/docker/ensure-engine.sh
  bash scripts/docker/build-images.sh
  # The app images for the containers e2e test (cached: seconds when nothing changed).
  bash scripts/images/build-apps.sh --skip-compile
elif docker info >/dev/null 2>&1; then
  IMAGES="${IMAGES:-}" bash scripts/docker/build-images.sh
else
  echo "docker: no engine answers and this is not root; Docker-backed tests will fail. Start Docker or run as root." >&2
  exit 1
fi
