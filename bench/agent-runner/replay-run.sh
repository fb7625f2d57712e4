#!/usr/bin/env bash
# Runs a recorded relay trial again on this checkout's agency, the model's answers replayed from
# the recording (replay-answers.mjs), and measures the prompts (prompt-economy.mjs) against it.
#
#   bench/agent-runner/replay-run.sh <trial dir> <out dir> [relay port]
#
# <trial dir> is a relay trial's directory as ../../briefs or the README describes: queue/ (the
# recorded requests and answers), vault/ (its agency.yaml points the gateway at the relay port and
# its forge at ../../forge), forge/ (the bare repository at the base), and fr.md (the FR as the
# person wrote it). Built code is used as it is (npm run build first).
set -euo pipefail
trial=$(realpath "$1")
out=$(realpath -m "$2")
port=${3:-19590}
root=$(cd "$(dirname "$0")/../.." && pwd)

rm -rf "$out" && mkdir -p "$out/queue" "$out/cassettes"
cp -r "$trial/vault" "$out/vault"
cp -r "$trial/forge" "$out/forge"
find "$out/vault/10_features" -name '*.md' -delete
cp "$trial/fr.md" "$out/vault/10_features/03_planned/$(basename "$(ls "$trial"/vault/10_features/*/FR-* | head -1)")"
# A fresh forge: no agency branch or PR of the recorded run.
for git_dir in "$out"/forge/*/*.git; do
  git -C "$git_dir" for-each-ref --format='%(refname)' refs/heads/agency | xargs -r -n1 git -C "$git_dir" update-ref -d
  rm -rf "${git_dir%.git}.prs"
done
sed -i -E "s#http://127\.0\.0\.1:[0-9]+/v1#http://127.0.0.1:${port}/v1#" "$out/vault/40_config/agency.yaml"

cleanup() { kill "$relay" "$replay" 2>/dev/null || true; }
RELAY_Q="$out/queue" node /work/shared/relay/relay.mjs "$port" "$out/queue" >"$out/relay.log" 2>&1 &
relay=$!
node "$root/bench/agent-runner/replay-answers.mjs" "$trial/queue" "$out/queue" >"$out/replay.log" 2>&1 &
replay=$!
trap cleanup EXIT
started=$(date +%s)
(cd "$root" && SANDBOX=${SANDBOX:-docker} node dist/apps/cli/src/main.js up --vault "$out/vault" --run-dir "$out/run" --fresh --once --timeout 1800 >"$out/agency.log" 2>&1) || true
echo "agency finished in $(( $(date +%s) - started )) s; its summary:"
grep -A8 '^== ' "$out/agency.log" || tail -20 "$out/agency.log"
node "$root/bench/agent-runner/prompt-economy.mjs" "$trial/queue" "$out/queue" | tee "$out/prompt-economy.md"
