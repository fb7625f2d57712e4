#!/usr/bin/env bash
# Run a shell script in a throw-away nats-box pod as the NATS admin user (backups, restores,
# stream edits): the NATS server refuses every other user these operations. The admin password
# goes from the Secret agency-nats into the pod's environment (secretKeyRef): it is never on a
# command line, in the pod spec or printed. Standard input and output are the pod's.
#
#   deploy/k8s/nats-admin.sh 'nats stream ls'
#   deploy/k8s/nats-admin.sh 'mkdir -p /tmp/b && cd /tmp/b && nats stream backup AGENCY_EVT AGENCY_EVT >&2 && tar -cz .' > evt.tar.gz
#   deploy/k8s/nats-admin.sh --print '...'     the pod overrides (JSON) instead of running it
#
# Env: NAMESPACE (default agency), NATS_BOX_IMAGE (default docker.io/natsio/nats-box:0.18.1)
set -euo pipefail

NS="${NAMESPACE:-agency}"
IMAGE="${NATS_BOX_IMAGE:-docker.io/natsio/nats-box:0.18.1}"
PRINT=0
# kubectl attaches to the container named like the pod.
NAME="nats-admin-$$"
if [ "${1:-}" = "--print" ]; then PRINT=1; shift; fi
[ $# -eq 1 ] || { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//' >&2; exit 2; }

# A JSON string of $1 (backslash, quote and control characters escaped).
json_string() {
  local s="${1//\\/\\\\}"
  s="${s//\"/\\\"}"; s="${s//$'\n'/\\n}"; s="${s//$'\t'/\\t}"; s="${s//$'\r'/\\r}"
  printf '"%s"' "$s"
}

overrides=$(cat <<JSON
{"apiVersion":"v1","spec":{"automountServiceAccountToken":false,"containers":[{"name":$(json_string "$NAME"),"image":$(json_string "$IMAGE"),"stdin":true,
"command":["sh","-c",$(json_string "$1")],
"env":[{"name":"NATS_URL","value":"nats://nats:4222"},{"name":"NATS_USER","value":"admin"},{"name":"HOME","value":"/tmp"},
{"name":"NATS_PASSWORD","valueFrom":{"secretKeyRef":{"name":"agency-nats","key":"NATS_PASSWORD_ADMIN"}}}]}]}}
JSON
)

if [ "$PRINT" -eq 1 ]; then printf '%s\n' "$overrides"; exit 0; fi
command -v kubectl >/dev/null || { echo "nats-admin: kubectl is not on the PATH" >&2; exit 1; }
# The label lets the pod through the network policy in front of NATS.
exec kubectl -n "$NS" run "$NAME" --rm -i --quiet --restart=Never --image "$IMAGE" \
  --labels app.kubernetes.io/name=nats-admin --overrides "$overrides"
