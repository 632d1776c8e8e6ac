#!/usr/bin/env bats
# A smoke test in the real policy-server (`make engine-tests`, with policy-server on PATH): the
# annotated policy loaded from file://, as a cluster runs it, against the fake API server
# (tests/kmp/fake_apiserver.py) serving the sample cluster of test_data/cluster.json.

bats_require_minimum_version 1.5.0

POLICY_SERVER="${POLICY_SERVER:-policy-server}"
REPO="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
CREATE_WRAPPER='Failed to create virtual machine allocation error: Failed to allocate mac to the vm object: '
# Every MAC the sample cluster holds or names (test_data/cluster.json).
CLUSTER_MACS='["02:00:00:00:00:10","02:00:00:00:00:20","02:00:00:00:00:30","02:00:00:00:00:40","02:00:00:00:00:50"]'

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for WHAT COMMAND...: retries COMMAND for up to 60 s.
wait_for() {
  local what=$1
  shift
  for _ in $(seq 1 120); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "gave up waiting for $what" >&2
  return 1
}

setup_file() {
  command -v "$POLICY_SERVER" >/dev/null || skip "no policy-server ($POLICY_SERVER): this test needs the real engine"
  [ -f "$REPO/annotated-policy.wasm" ] || skip "no annotated-policy.wasm: make annotated-policy.wasm first"
  local dir="$BATS_FILE_TMPDIR"
  PYTHONPATH="$REPO/tests" PYTHONDONTWRITEBYTECODE=1 python3 -m kmp.fake_apiserver --cluster "$REPO/test_data/cluster.json" \
    --port-file "$dir/api-port" --kubeconfig "$dir/kubeconfig" >"$dir/api.log" 2>&1 &
  echo $! >"$dir/api.pid"
  wait_for "the fake API server" test -s "$dir/api-port"
  PS_PORT=$(free_port)
  READY_PORT=$(free_port)
  export PS_PORT READY_PORT
  local policy
  policy() {
    cat <<EOF
$1:
  module: file://$REPO/annotated-policy.wasm
  allowedToMutate: true
  timeoutEvalSeconds: 5
  settings: $2
  contextAwareResources:
  - apiVersion: kubevirt.io/v1
    kind: VirtualMachine
  - apiVersion: v1
    kind: Pod
  - apiVersion: v1
    kind: Namespace
  hostCapabilities: ["kubernetes/*"]
EOF
  }
  { policy kubemacpool '{}'; policy kubemacpool-reject '{"duplicateMacs": "reject"}'; } >"$dir/policies.yml"
  local trust=()
  [ -z "${SIGSTORE_TRUST_CONFIG:-}" ] || trust=(--sigstore-trust-config "$SIGSTORE_TRUST_CONFIG")
  (cd "$dir" && KUBECONFIG="$dir/kubeconfig" RUST_BACKTRACE=0 exec "$POLICY_SERVER" \
    --policies "$dir/policies.yml" --policies-download-dir "$dir" --sigstore-cache-dir "$dir/sigstore" \
    --addr 127.0.0.1 --port "$PS_PORT" --readiness-probe-port "$READY_PORT" --workers 2 \
    --log-no-color "${trust[@]}" >"$dir/policy-server.log" 2>&1) &
  echo $! >"$dir/policy-server.pid"
  wait_for "policy-server's readiness" curl -sf "http://127.0.0.1:$READY_PORT/readiness"
}

teardown_file() {
  for pid in "$BATS_FILE_TMPDIR"/*.pid; do
    [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true
  done
}

# admit POLICY REQUEST [ENDPOINT]: POSTs test_data/REQUEST as an AdmissionReview; $output is the
# AdmissionResponse.
admit() {
  local review
  review=$(jq '{kind: "AdmissionReview", apiVersion: "admission.k8s.io/v1", request: (.request // .)}' \
    "$REPO/test_data/$2")
  run curl -sS --max-time 30 -X POST -H 'Content-Type: application/json' --data-binary "$review" \
    "http://127.0.0.1:$PS_PORT/${3:-validate}/$1"
  [ "$status" -eq 0 ]
  output=$(jq -c .response <<<"$output")
  echo "$output"
}

response() { jq -e "$1" <<<"$output"; }
message_is() {
  jq -e --arg m "$1" '.status.message == $m' <<<"$output" || {
    printf 'expected: %s\nactual:   %s\n' "$1" "$(jq -r .status.message <<<"$output")" >&2
    return 1
  }
}

@test "policy-server: a VM CREATE gets MACs the cluster does not hold" {
  admit kubemacpool vm-create.json
  response '.allowed == true and .patchType == "JSONPatch"'
  local macs
  macs=$(jq -r '.patch' <<<"$output" | base64 -d |
    jq -c '[.[] | select(.path | endswith("/macAddress")) | .value]')
  echo "allocated: $macs"
  jq -e --argjson held "$CLUSTER_MACS" 'length == 2 and all(.[]; test("^02(:[0-9a-f]{2}){5}$")) and
    (. - $held | length) == 2 and (unique | length) == 2' <<<"$macs"
}

@test "policy-server: a Pod CREATE gets a MAC on every network, none the cluster holds" {
  admit kubemacpool pod-create.json
  response '.allowed == true'
  local networks
  networks=$(jq -r '.patch' <<<"$output" | base64 -d |
    jq -r '.[] | select(.path == "/metadata/annotations/k8s.v1.cni.cncf.io~1networks") | .value')
  echo "networks: $networks"
  jq -e --argjson held "$CLUSTER_MACS" 'length == 2 and all(.[]; .mac | test("^02(:[0-9a-f]{2}){5}$")) and
    ([.[].mac] - $held | length) == 2' <<<"$networks"
}

@test "policy-server: a MAC another VM holds is refused under duplicateMacs reject, with the exact message" {
  admit kubemacpool-reject vm-create-mac-held-by-vm.json
  response '.allowed == false and .status.code == 409'
  message_is "${CREATE_WRAPPER}failed to allocate requested mac address: 02:00:00:00:00:50 is used by VirtualMachine legacy/old-vm"
}

@test "policy-server: the same request under the default duplicateMacs warn is admitted with a warning" {
  admit kubemacpool vm-create-mac-held-by-vm.json
  response '.allowed == true'
  response '.warnings | length == 1 and (.[0] | contains("02:00:00:00:00:50") and contains("VirtualMachine legacy/old-vm"))'
}

@test "policy-server: a MAC spelt wrongly on a VM interface is refused" {
  admit kubemacpool vm-create-invalid-mac.json
  response ".allowed == false and .status.code == 400"
  message_is "${CREATE_WRAPPER}invalid MAC address format for interface blue: 02:00:00:00:00: address 02:00:00:00:00: invalid MAC address"
}

@test "policy-server: each list is made once per reflector, then served from memory" {
  admit kubemacpool vm-create.json
  admit kubemacpool vm-create.json
  run curl -sf "http://127.0.0.1:$(cat "$BATS_FILE_TMPDIR/api-port")/_stats"
  echo "$output"
  # One reflector per distinct query: at most one initial LIST of each (kind, selector) however
  # many admissions ran.
  jq -e 'to_entries | map(select(.key | startswith("list "))) | all(.value == 1)' <<<"$output"
}
