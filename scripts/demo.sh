#!/usr/bin/env bash
# The main job: evaluate the README's example VirtualMachine and Pod against the bundled sample
# cluster with the default settings (inventory: indexed; test_data/session-indexed-<request>.yml
# holds the calls it makes: its block's lists, then the objects not indexed yet) and show what
# the policy decided and changed.
# Called by `make demo`, which builds the policy and sets KWCTL and POLICY.
set -euo pipefail
cd "$(dirname "$0")/.."
KWCTL="${KWCTL:-kwctl}"
POLICY="${POLICY:-annotated-policy.wasm}"

show() {
  local title=$1 request=$2
  echo "=== $title ($request, against the sample cluster)"
  local response
  response=$("$KWCTL" run --request-path "test_data/$request" --settings-json '{}' \
    --allow-context-aware --replay-host-capabilities-interactions "test_data/session-indexed-${request%.json}.yml" "$POLICY")
  echo "$(basename "$KWCTL") run answered:"
  echo "  $response"
  echo "allowed: $(jq -r .allowed <<<"$response")"
  if [ "$(jq -r '.patch // empty' <<<"$response")" != "" ]; then
    echo "JSON Patch:"
    jq -r .patch <<<"$response" | base64 -d | jq .
  fi
  jq -r '.warnings // [] | .[] | "warning: " + .' <<<"$response"
  echo
}

show "VirtualMachine CREATE: masquerade on the pod network + bridge on a Multus network" vm-create.json
show "Pod CREATE: two Multus networks, no MACs given" pod-create.json
