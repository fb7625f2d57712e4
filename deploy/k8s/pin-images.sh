#!/usr/bin/env bash
# Pin the overlay's images to the digests the node's containerd holds, so every pod runs exactly
# the image that was built and imported (a tag can be moved; a digest cannot). Run it on the k3s
# node after importing the agency's images (and again after the first start, once k3s has pulled
# the third-party ones):
#
#   sudo k3s ctr images import agency-images.tar
#   deploy/k8s/pin-images.sh                       # rewrites the images block of overlays/k3s
#   TAG=0.2.0 deploy/k8s/pin-images.sh             # an upgrade: the agency's images at a new tag
#   kubectl apply -k deploy/k8s/overlays/k3s
#
# It renders the overlay, looks up every container image in containerd (`ctr images ls`) and
# writes the `images:` block between the BEGIN/END images markers of the overlay's
# kustomization.yaml: the agency's images (IMAGE_PREFIX, default localhost/agency) with their tag
# and digest, third-party ones with their digest. An agency image containerd does not hold is an
# error (import it first); a third-party one not pulled yet keeps its tag, with a warning.
#
# Env:
#   OVERLAY       the overlay to pin (default: deploy/k8s/overlays/k3s next to this script)
#   CTR           the ctr command (default "k3s ctr"; e.g. "ctr --address /run/containerd/containerd.sock")
#   CTR_NAMESPACE containerd namespace of the images (default k8s.io, where k3s keeps them)
#   IMAGE_PREFIX  registry host and path of the agency's images (default localhost/agency)
#   TAG           the agency's images at this tag instead of the one the overlay names
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OVERLAY="${OVERLAY:-$HERE/overlays/k3s}"
CTR="${CTR:-k3s ctr}"
NS="${CTR_NAMESPACE:-k8s.io}"
PREFIX="${IMAGE_PREFIX:-localhost/agency}"
FILE="$OVERLAY/kustomization.yaml"

say() { echo "pin-images: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }
case "${1:-}" in -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;; "") ;; *) die "unknown argument $1" ;; esac

command -v kubectl >/dev/null || die "kubectl is not on the PATH"
grep -q '^# BEGIN images' "$FILE" && grep -q '^# END images' "$FILE" || die "$FILE has no '# BEGIN images' ... '# END images' block"

# Every image the overlay's pods run, without a digest an earlier run added.
mapfile -t images < <(kubectl kustomize "$OVERLAY" | sed -n -E 's/^[[:space:]]*(- )?image:[[:space:]]*"?([^"[:space:]]+)"?.*/\2/p' | sed 's/@sha256:.*//' | sort -u)
[ "${#images[@]}" -gt 0 ] || die "kubectl kustomize $OVERLAY names no image"
# shellcheck disable=SC2086
listing="$($CTR -n "$NS" images ls)" || die "cannot list containerd's images with '$CTR -n $NS images ls'"

block=("images:")
missing=0
for image in "${images[@]}"; do
  name="$image"; tag=""
  last="${image##*/}"
  if [[ "$last" == *:* ]]; then name="${image%:*}"; tag="${last##*:}"; fi
  ours=0; [[ "$name" == "$PREFIX/"* ]] && ours=1
  [ "$ours" -eq 1 ] && [ -n "${TAG:-}" ] && tag="$TAG"
  ref="$name${tag:+:$tag}"
  digest="$(awk -v r="$ref" '$1 == r { print $3; exit }' <<<"$listing")"
  if [ -z "$digest" ]; then
    if [ "$ours" -eq 1 ]; then say "$ref is not in containerd (namespace $NS): import it first (k3s ctr images import)"; missing=1
    else say "warning: $ref is not in containerd yet (pulled at the first start): left at its tag; run me again after"; fi
    [ "$ours" -eq 1 ] && block+=("  - { name: $name, newTag: \"$tag\" }")
    continue
  fi
  if [ "$ours" -eq 1 ]; then block+=("  - { name: $name, newTag: \"$tag\", digest: \"$digest\" }")
  else block+=("  - { name: $name, digest: \"$digest\" }"); fi
  say "$ref -> $digest"
done
[ "$missing" -eq 0 ] || die "not pinned: an agency image is missing"

tmp="$(mktemp "$FILE.XXXXXX")"
awk -v block="$(printf '%s\n' "${block[@]}")" '
  /^# BEGIN images/ { print; print block; skip = 1; next }
  /^# END images/ { skip = 0 }
  !skip { print }' "$FILE" > "$tmp"
mv "$tmp" "$FILE"
say "pinned ${#images[@]} images in $FILE"
