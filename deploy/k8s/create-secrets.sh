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
#   agency-github          GITHUB_TOKEN, GITHUB_WEBHOOK_SECRET, or for a GitHub App GITHUB_APP_ID,
#                          GITHUB_APP_INSTALLATION_ID, GITHUB_APP_PRIVATE_KEY -> git-service only
#   agency-git-mirror      GIT_MIRROR_TOKEN (generated): git-service's GIT_MIRROR_TOKEN and
#                          agent-runner's GIT_MIRROR_TOKEN; reads repositories through git-service
#   agency-grafana         admin-password -> grafana
#   agency-nats            NATS_PASSWORD_<USER> for each NATS user (ORCHESTRATOR, ROUTER, REGISTRY,
#                          AGENT_RUNNER, REVIEWER, GIT_SERVICE, LLM_GATEWAY, DASHBOARD, CLI, ADMIN)
#                          -> nats all of them; each service and the dashboard its own key only;
#                          the HA overlay's replicas job ADMIN
#
# Idempotent: the agency's gateway key, the NATS passwords and Grafana's password are generated once
# and kept on later runs (--rotate makes new ones and restarts NATS and everything that holds one).
# A provider key or token not set in the environment keeps the value already in the cluster.
#
# Env:
#   NAMESPACE            default agency
#   GATEWAY_EXTRA_KEYS   more gateway clients, "id:secret,..." (e.g. "laptop:$(openssl rand -hex 24)");
#                        unset keeps the extra keys already in the cluster, empty ("") removes them
#   OPENAI_API_KEY, ANTHROPIC_API_KEY, GITHUB_TOKEN, GITHUB_WEBHOOK_SECRET, GRAFANA_ADMIN_PASSWORD
#   GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID, GITHUB_APP_PRIVATE_KEY_FILE (the app's .pem file)
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
# Other tools' keys: as given, or (GATEWAY_EXTRA_KEYS unset) every key but the agency's own already there.
if [ -n "${GATEWAY_EXTRA_KEYS+set}" ]; then
  extra="$GATEWAY_EXTRA_KEYS"
else
  extra="$(current agency-llm-gateway GATEWAY_API_KEYS | tr ',' '\n' | grep -v '^agency:' | grep -v '^$' | paste -sd, - || true)"
fi
keys="agency:$agency_key${extra:+,$extra}"
put agency-llm-gateway GATEWAY_API_KEYS "$keys"
put agency-llm-gateway OPENAI_API_KEY "${OPENAI_API_KEY:-$(current agency-llm-gateway OPENAI_API_KEY)}"
put agency-llm-gateway ANTHROPIC_API_KEY "${ANTHROPIC_API_KEY:-$(current agency-llm-gateway ANTHROPIC_API_KEY)}"
apply_secret agency-llm-gateway GATEWAY_API_KEYS OPENAI_API_KEY ANTHROPIC_API_KEY

put agency-gateway-client LLM_GATEWAY_API_KEY "$agency_key"
apply_secret agency-gateway-client LLM_GATEWAY_API_KEY

put agency-github GITHUB_TOKEN "${GITHUB_TOKEN:-$(current agency-github GITHUB_TOKEN)}"
put agency-github GITHUB_WEBHOOK_SECRET "${GITHUB_WEBHOOK_SECRET:-$(current agency-github GITHUB_WEBHOOK_SECRET)}"
put agency-github GITHUB_APP_ID "${GITHUB_APP_ID:-$(current agency-github GITHUB_APP_ID)}"
put agency-github GITHUB_APP_INSTALLATION_ID "${GITHUB_APP_INSTALLATION_ID:-$(current agency-github GITHUB_APP_INSTALLATION_ID)}"
if [ -n "${GITHUB_APP_PRIVATE_KEY_FILE:-}" ]; then
  mkdir -p "$work/agency-github" && cp "$GITHUB_APP_PRIVATE_KEY_FILE" "$work/agency-github/GITHUB_APP_PRIVATE_KEY"
else
  # Straight into the file: a command substitution would drop the PEM's last newline.
  mkdir -p "$work/agency-github" && current agency-github GITHUB_APP_PRIVATE_KEY > "$work/agency-github/GITHUB_APP_PRIVATE_KEY"
fi
apply_secret agency-github GITHUB_TOKEN GITHUB_WEBHOOK_SECRET GITHUB_APP_ID GITHUB_APP_INSTALLATION_ID GITHUB_APP_PRIVATE_KEY

# The service credential agent-runners read repositories from git-service with.
mirror="$(current agency-git-mirror GIT_MIRROR_TOKEN)"
{ [ -z "$mirror" ] || [ "$ROTATE" -eq 1 ]; } && mirror="gmt_$(random)"
put agency-git-mirror GIT_MIRROR_TOKEN "$mirror"
apply_secret agency-git-mirror GIT_MIRROR_TOKEN

# NATS: a password per user (deploy/k8s/base/nats/auth.conf names them).
nats_keys=()
for user in ORCHESTRATOR ROUTER REGISTRY AGENT_RUNNER REVIEWER GIT_SERVICE LLM_GATEWAY DASHBOARD CLI ADMIN; do
  key="NATS_PASSWORD_$user"
  value="$(current agency-nats "$key")"
  # A letter first: nats-server parses the value as configuration, and a leading digit makes a number.
  { [ -z "$value" ] || [ "$ROTATE" -eq 1 ]; } && value="natspw_$(random)"
  put agency-nats "$key" "$value"
  nats_keys+=("$key")
done
apply_secret agency-nats "${nats_keys[@]}"

grafana="${GRAFANA_ADMIN_PASSWORD:-$(current agency-grafana admin-password)}"
{ [ -z "$grafana" ] || [ "$ROTATE" -eq 1 ]; } && grafana="$(random)"
put agency-grafana admin-password "$grafana"
apply_secret agency-grafana admin-password

if [ "$ROTATE" -eq 1 ]; then
  # NATS first (it reads the passwords at start), then everything that holds a key or a NATS password.
  kubectl -n "$NS" rollout restart statefulset/nats >/dev/null 2>&1 || true
  kubectl -n "$NS" rollout status statefulset/nats --timeout=300s >/dev/null 2>&1 || true
  kubectl -n "$NS" rollout restart deployment/orchestrator deployment/router deployment/registry deployment/reviewer \
    deployment/git-service statefulset/llm-gateway deployment/dashboard statefulset/agent-runner deployment/grafana >/dev/null 2>&1 || true
  echo "create-secrets: rotated; restarted NATS, the services, the dashboard and Grafana"
fi
