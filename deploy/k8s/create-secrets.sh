#!/usr/bin/env bash
# Create or update the agency's secrets in the cluster. Values come from the environment (never
# from arguments, which other users can read in `ps`), and nothing is printed.
#
#   OPENAI_API_KEY=... ANTHROPIC_API_KEY=... GITHUB_TOKEN=... deploy/k8s/create-secrets.sh
#
# Secrets (namespace agency; each mounted only where it is needed):
#   agency-llm-gateway     GATEWAY_API_KEYS ("id:secret,..."), OPENAI_API_KEY, ANTHROPIC_API_KEY
#                          -> llm-gateway only
#   agency-gateway-client  LLM_GATEWAY_API_KEY (the agency's own gateway key)
#                          -> agent-runner and reviewer only
#   agency-github          GITHUB_TOKEN, GITHUB_WEBHOOK_SECRET -> git-service only
#   agency-grafana         admin-password -> grafana
#
# Idempotent: the agency's gateway key and Grafana's password are generated once and kept on later
# runs (--rotate makes new ones; the gateway and its clients restart to pick them up). A provider
# key or token not set in the environment keeps the value already in the cluster.
#
# Env:
#   NAMESPACE            default agency
#   GATEWAY_EXTRA_KEYS   more gateway clients, "id:secret,..." (e.g. "laptop:$(openssl rand -hex 24)")
#   OPENAI_API_KEY, ANTHROPIC_API_KEY, GITHUB_TOKEN, GITHUB_WEBHOOK_SECRET, GRAFANA_ADMIN_PASSWORD
set -euo pipefail

NS="${NAMESPACE:-agency}"
ROTATE=0
for arg in "$@"; do
  case "$arg" in
    --rotate) ROTATE=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "create-secrets: unknown argument $arg" >&2; exit 2 ;;
  esac
done

command -v kubectl >/dev/null || { echo "create-secrets: kubectl is not on the PATH" >&2; exit 1; }
kubectl get namespace "$NS" >/dev/null 2>&1 || kubectl create namespace "$NS" >/dev/null

# The value of one key of an existing secret, or empty.
current() { kubectl -n "$NS" get secret "$1" -o go-template="{{index .data \"$2\"}}" 2>/dev/null | base64 -d 2>/dev/null || true; }
random() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# kubectl reads the values from files in a private temp dir, not from its command line.
work="$(mktemp -d)"; chmod 700 "$work"
trap 'rm -rf "$work"' EXIT

apply_secret() {
  local name="$1"; shift
  local args=() key
  for key in "$@"; do
    [ -s "$work/$name/$key" ] && args+=(--from-file="$key=$work/$name/$key")
  done
  kubectl -n "$NS" create secret generic "$name" "${args[@]}" --dry-run=client -o yaml \
    | kubectl -n "$NS" apply -f - >/dev/null
  echo "create-secrets: $name (${#args[@]} key(s))"
}

put() { mkdir -p "$work/$1"; printf '%s' "$3" > "$work/$1/$2"; }

# The agency's own gateway key: the gateway lists it, agent-runner and reviewer present it.
agency_key="$(current agency-gateway-client LLM_GATEWAY_API_KEY)"
{ [ -z "$agency_key" ] || [ "$ROTATE" -eq 1 ]; } && agency_key="agk_$(random)"
keys="agency:$agency_key${GATEWAY_EXTRA_KEYS:+,$GATEWAY_EXTRA_KEYS}"
put agency-llm-gateway GATEWAY_API_KEYS "$keys"
put agency-llm-gateway OPENAI_API_KEY "${OPENAI_API_KEY:-$(current agency-llm-gateway OPENAI_API_KEY)}"
put agency-llm-gateway ANTHROPIC_API_KEY "${ANTHROPIC_API_KEY:-$(current agency-llm-gateway ANTHROPIC_API_KEY)}"
apply_secret agency-llm-gateway GATEWAY_API_KEYS OPENAI_API_KEY ANTHROPIC_API_KEY

put agency-gateway-client LLM_GATEWAY_API_KEY "$agency_key"
apply_secret agency-gateway-client LLM_GATEWAY_API_KEY

put agency-github GITHUB_TOKEN "${GITHUB_TOKEN:-$(current agency-github GITHUB_TOKEN)}"
put agency-github GITHUB_WEBHOOK_SECRET "${GITHUB_WEBHOOK_SECRET:-$(current agency-github GITHUB_WEBHOOK_SECRET)}"
apply_secret agency-github GITHUB_TOKEN GITHUB_WEBHOOK_SECRET

grafana="${GRAFANA_ADMIN_PASSWORD:-$(current agency-grafana admin-password)}"
{ [ -z "$grafana" ] || [ "$ROTATE" -eq 1 ]; } && grafana="$(random)"
put agency-grafana admin-password "$grafana"
apply_secret agency-grafana admin-password

if [ "$ROTATE" -eq 1 ]; then
  kubectl -n "$NS" rollout restart deployment/llm-gateway deployment/reviewer statefulset/agent-runner deployment/grafana >/dev/null 2>&1 || true
  echo "create-secrets: rotated; restarted the gateway, its clients and Grafana"
fi
