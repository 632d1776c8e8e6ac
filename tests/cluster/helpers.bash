# Helpers for the bats files here: the test cluster up for a file, kubectl against it, namespaces,
# manifests, the invariant. The shell library (lib.bash) comes with them.

# shellcheck source=lib.bash
. "$BATS_TEST_DIRNAME/lib.bash"
CLUSTER="$CLUSTER_DIR/cluster.sh"
VM_CREATE_WRAPPER='Failed to create virtual machine allocation error: Failed to allocate mac to the vm object: '
MAC_RE='^02(:[0-9a-f]{2}){5}$'

state() { echo "${KMP_CLUSTER_STATE:?}"; }
# (lib.bash's k, on the cluster of this test file)
k() { "$BIN/kubectl" --kubeconfig "$(state)/admin.kubeconfig" "$@"; }

load_cluster_env() {
  # shellcheck disable=SC1091
  . "$(state)/env"
  export BIN KMP_POLICY_MODULE KMP_SOURCES
}

# The bats hooks every file here shares (a file defines its own after `load helpers` to differ):
# the cluster down after the file; each test skipped with KMP_SKIP, or run on the file's cluster
# and followed by its cleanup and the cluster invariant.
teardown_file() {
  [ -z "${KMP_CLUSTER_STATE:-}" ] || "$CLUSTER" down "$KMP_CLUSTER_STATE"
}

setup() {
  [ -z "${KMP_SKIP:-}" ] || skip "$KMP_SKIP"
  load_cluster_env
}

teardown() {
  [ -z "${KMP_SKIP:-}" ] || return 0
  load_cluster_env
  run_cleanup
  check_invariant
}

# cluster_up_for_file WHO GO_BUILDS [BUILD_SH]: setup_file's start: the test cluster up in
# $BATS_RUN_TMPDIR/cluster (KMP_CLUSTER_STATE), its env loaded. Without policy-server, kwctl or Go,
# or where BUILD_SH (an upstream build, upstream.bash) finds no tarball (its exit 3), sets KMP_SKIP
# instead, with a line that names WHO (the tests) and GO_BUILDS (what they build with Go); setup
# skips every test with it (bats 1.8 reports a skip in setup_file as a failure).
cluster_up_for_file() {
  local who=$1 go_builds=$2 build=${3:-} rc=0 log
  if ! command -v "${POLICY_SERVER:-policy-server}" >/dev/null || ! command -v kwctl >/dev/null; then
    export KMP_SKIP="no policy-server or kwctl on PATH (Kubewarden 1.35): needed by $who"
    return 0
  fi
  if ! (use_go); then
    export KMP_SKIP="no Go: needed by $who to build $go_builds"
    return 0
  fi
  if [ -n "$build" ]; then
    log="$BATS_FILE_TMPDIR/$(basename "$(dirname "$build")")-build.log"
    "$build" >/dev/null 2>"$log" || rc=$?
    if [ "$rc" -eq 3 ]; then
      KMP_SKIP="$(tail -n 1 "$log")"
      export KMP_SKIP
      return 0
    fi
    [ "$rc" -eq 0 ] || { cat "$log" >&2; return "$rc"; }
  fi
  export KMP_CLUSTER_STATE="$BATS_RUN_TMPDIR/cluster"
  "$CLUSTER" up "$KMP_CLUSTER_STATE" >&3 2>&1
  echo "# cluster up in $(cat "$KMP_CLUSTER_STATE/start-seconds") s" >&3
  load_cluster_env
}

# warm REPLICA...: primes each policy-server replica's index watches (tests/kmp/cluster/warm_spans.py
# says why: the cold start of `inventory: indexed` is not what these tests measure). Each file's
# setup_file primes replica 1 too: now and then a new watch's LIST waits 290 s behind an older watch
# (docs/operations.md), which warm_spans waits out and a kubectl create behind a 10 s webhook
# timeout cannot.
warm() {
  local i port seconds rc
  for i in "$@"; do
    port=$(eval echo "\$PS${i}_PORT")
    rc=0
    seconds=$(kmp_python cluster.warm_spans "https://127.0.0.1:$port" "$(state)/pki/ca.crt" \
      clusterwide-kubemacpool-vms-opt-out) || rc=$?
    [ "$rc" -eq 0 ] || return "$rc"
    echo "# policy-server-$i: its index watches (64 VM spans, 16 Pod spans, 2 legacy lists) primed in $seconds" >&3
  done
}

# mkns NAME [KEY=VALUE...]: a namespace with these labels and its `default` ServiceAccount (the
# ServiceAccount admission plugin needs it for Pods; no controller-manager creates it here).
mkns() {
  local name=$1 labels="" kv
  shift
  for kv in "$@"; do labels+="    ${kv%%=*}: \"${kv#*=}\""$'\n'; done
  k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: $name
  labels:
    kubemacpool-test: "true"
$labels---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: $name
EOF
}

# vm NAMESPACE NAME [MAC]: Kubemacpool's `simplevm`: one masquerade interface on the pod network
# (and the MAC given, if any).
vm() {
  cat <<EOF
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: $2
  namespace: $1
  labels:
    app: $2
spec:
  runStrategy: Halted
  template:
    metadata:
      labels:
        kubevirt.io/domain: $2
    spec:
      domain:
        devices:
          disks:
          - name: containerdisk
            disk:
              bus: virtio
          interfaces:
          - name: default
            masquerade: {}${3:+
            macAddress: \"$3\"}
        resources:
          requests:
            memory: 64Mi
      networks:
      - name: default
        pod: {}
      volumes:
      - name: containerdisk
        containerDisk:
          image: quay.io/kubevirt/cirros-container-disk-demo
EOF
}

# pod NAMESPACE NAME NETWORKS-JSON: a Pod with a Multus networks annotation and one other annotation.
pod() {
  cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $2
  namespace: $1
  labels:
    app: $2
  annotations:
    k8s.v1.cni.cncf.io/networks: '$3'
    example.com/owner: team-blue
spec:
  containers:
  - name: app
    image: registry.k8s.io/pause:3.10
EOF
}

vm_macs() { k get vm "$2" -n "$1" -o json | jq -c '[.spec.template.spec.domain.devices.interfaces[].macAddress]'; }
pod_networks() { k get pod "$2" -n "$1" -o json | jq -r '.metadata.annotations["k8s.v1.cni.cncf.io/networks"]'; }

# allow_duplicate MAC: the test asked for MAC to be held twice.
allow_duplicate() { echo "$1" >>"$(state)/allowed-duplicates"; }

# on_teardown COMMAND...: run by this test's teardown, passed or failed, before the invariant.
on_teardown() { printf '%q ' "$@" >>"$(state)/cleanup"; echo >>"$(state)/cleanup"; }

run_cleanup() {
  [ -f "$(state)/cleanup" ] || return 0
  local line
  while IFS= read -r line; do eval "$line" || true; done <"$(state)/cleanup"
  rm -f "$(state)/cleanup"
}

check_invariant() {
  k get vm,pod -A -o json | kmp_python cluster.invariant "$(state)/ledger.json" "$(state)/allowed-duplicates"
}

# until_ok SECONDS COMMAND...: retries COMMAND every 0.5 s; prints how long it took.
until_ok() {
  local seconds=$1 start=$SECONDS
  shift
  until "$@"; do
    [ $((SECONDS - start)) -lt "$seconds" ] || { echo "still failing after $seconds s: $*" >&2; return 1; }
    sleep 0.5
  done
  echo "recovered after $((SECONDS - start)) s: $*"
}

# jq: `"3f" | span(4)` is "3c-3f": the span of a block (two hex digits) of 4 blocks (VMs) or 16
# (Pods), as behaviour.md 7.1 writes it; `span_label(4)` its label. Use as jq "$JQ_SPAN ...".
JQ_SPAN='def unhex: ascii_downcase | explode | map(if . >= 97 then . - 87 else . - 48 end) | .[0] * 16 + .[1];
def hex: [("0123456789abcdef" | split(""))[(. / 16 | floor), (. % 16)]] | join("");
def span($width): unhex | ((. / $width | floor) * $width) as $first | "\($first | hex)-\($first + $width - 1 | hex)";
def span_label($width): "mac-blocks.kubemacpool.io/" + span($width);'
