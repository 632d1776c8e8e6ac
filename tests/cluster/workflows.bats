#!/usr/bin/env bats
# KubeVirt's workflows that copy, move and restore MACs (behaviour.md sections 3 and 6,
# docs/admission.md "KubeVirt workflows"), on a real API server with KubeVirt's CRD schema
# (`make cluster-tests`). No KubeVirt controller runs: each flow is driven through the API server
# with the calls its controller makes (a clone: a create with the source's labels and no MACs; a
# restore: an update or a create with the snapshot's spec; a pool: creates from its template and
# wholesale replaces; hotplug: patches of the interfaces). After every test no MAC is held twice
# unless the test asked for it, and no stored MAC changed (kmp.cluster.invariant). The API
# server's audit log (KMP_APISERVER_AUDIT=1) shows the `duplicate-mac` annotation.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  # The policies also as a variant with an explicit seed, for the two-cluster test.
  export KMP_APISERVER_AUDIT=1 KMP_DERIVE_ARGS="--variant seeded:seed=fleet-1"
  cluster_up_for_file "the workflow tests" "kube-apiserver and etcd"
  [ -z "${KMP_SKIP:-}" ] || return 0
  warm 1
  mkns wf mutatepods.kubemacpool.io=allocate
}

teardown_file() {
  [ -z "${KMP_CLUSTER_STATE:-}" ] || "$CLUSTER" down "$KMP_CLUSTER_STATE"
  [ -z "${SECOND_STATE:-}" ] || "$CLUSTER" down "$SECOND_STATE"
}

# wf_vm NAME [MAC] [RUN_STRATEGY]: a VM in `wf` with a bridge interface `blue` on a Multus network
# (the MAC given, if any), labelled app=NAME.
wf_vm() {
  cat <<EOF
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: $1
  namespace: wf
  labels:
    app: $1
spec:
  runStrategy: ${3:-Halted}
  template:
    spec:
      domain:
        devices:
          interfaces:
          - name: blue
            bridge: {}${2:+
            macAddress: \"$2\"}
        resources:
          requests:
            memory: 64Mi
      networks:
      - name: blue
        multus:
          networkName: blue-net
EOF
}

mac_of() { k get vm "$1" -n wf -o json | jq -r '.spec.template.spec.domain.devices.interfaces[0].macAddress'; }
labels_of() { k get vm "$1" -n wf -o json | jq -c '.metadata.labels'; }
# own_labels NAME: the VM carries the index labels of its own MACs only (v2, one span each).
own_labels() {
  k get vm "$1" -n wf -o json | jq -e "$JQ_SPAN"' ([.spec.template.spec.domain.devices.interfaces[].macAddress // empty
      | split(":")[4] | span_label(4)] | unique) as $want
    | ([.metadata.labels | keys[] | select(startswith("mac-blocks.kubemacpool.io/"))] | sort) == $want
      and .metadata.labels["kubemacpool.io/indexed"] == "v2"' >/dev/null
}
# audited NAME: the duplicate-mac annotation of the API server's audit events for VM NAME.
audited() {
  jq -r --arg name "$1" 'select(.objectRef.resource == "virtualmachines" and .objectRef.name == $name)
    | .annotations // {} | to_entries[] | select(.key | endswith("/duplicate-mac")) | .value' \
    "$(state)/logs/audit.log"
}

@test "clone: the copy, made with the source's labels and without MACs, gets a fresh MAC and its own index labels" {
  wf_vm source | k apply -f - >/dev/null
  local mac
  mac=$(mac_of source)
  # The clone controller copies labels (index labels included) and strips the MACs.
  k get vm source -n wf -o json | jq '{apiVersion, kind, metadata: {name: "source-clone", namespace: "wf", labels: .metadata.labels},
      spec: (.spec | del(.template.spec.domain.devices.interfaces[].macAddress))}' | k create -f - >/dev/null
  on_teardown k delete vm source-clone -n wf
  [ "$(mac_of source-clone)" != "$mac" ]
  [[ "$(mac_of source-clone)" =~ $MAC_RE ]]
  own_labels source-clone
}

@test "restore onto the same VM: the snapshot's spec written back keeps its MACs, without a warning" {
  local mac snapshot="$BATS_TEST_TMPDIR/snapshot.json"
  mac=$(mac_of source)
  k get vm source -n wf -o json | jq 'del(.metadata.resourceVersion, .metadata.uid, .metadata.creationTimestamp,
      .metadata.generation, .metadata.managedFields, .status)' >"$snapshot"
  k patch vm source -n wf --type=merge -p '{"spec":{"template":{"spec":{"domain":{"resources":{"requests":{"memory":"128Mi"}}}}}}}' >/dev/null
  run --separate-stderr k replace -f "$snapshot"
  [ "$status" -eq 0 ]
  [[ "$stderr" != *Warning* ]]
  [ "$(mac_of source)" = "$mac" ]
  [ "$(k get vm source -n wf -o json | jq -r '.spec.template.spec.domain.resources.requests.memory')" = 64Mi ]
}

@test "restore to a new VM with the source's MACs, under warn: accepted with a warning and the duplicate-mac audit annotation" {
  local mac
  mac=$(mac_of source)
  allow_duplicate "$mac"
  run --separate-stderr k create -f - < <(wf_vm source-restored "$mac")
  [ "$status" -eq 0 ]
  local warning="MAC address $mac requested for interface blue is already used by VirtualMachine wf/source"
  [[ "$stderr" == *"Warning: $warning"* ]]
  [ "$(mac_of source-restored)" = "$mac" ]
  # The API server's audit log keeps what only the client saw (the events are written at once,
  # but give the log a moment).
  until_ok 10 grep -q source-restored "$(state)/logs/audit.log" >/dev/null
  [ "$(audited source-restored)" = "$warning" ]
}

@test "restore to a new VM with the source's MACs, under reject: refused, naming the source; blanked MACs get fresh ones" {
  "$CLUSTER" webhooks "$(state)" kubemacpool-pods-opt-in-reject kubemacpool-vms-opt-out-reject >/dev/null
  on_teardown "$CLUSTER" webhooks "$(state)" kubemacpool-pods-opt-in kubemacpool-vms-opt-out
  local mac
  mac=$(mac_of source)
  run --separate-stderr k create -f - < <(wf_vm source-restored-2 "$mac")
  [ "$status" -ne 0 ]
  [[ "$stderr" == *"${VM_CREATE_WRAPPER}failed to allocate requested mac address: $mac is used by VirtualMachine wf/source, VirtualMachine wf/source-restored"* ]]
  # The restore's `patches` blanking the MAC (docs/admission.md): a fresh one.
  wf_vm source-restored-2 | k create -f - >/dev/null
  [ "$(mac_of source-restored-2)" != "$mac" ]
}

@test "a live-migration receiver (runStrategy WaitAsReceiver) gets its source's MAC under reject, without a warning" {
  "$CLUSTER" webhooks "$(state)" kubemacpool-pods-opt-in-reject kubemacpool-vms-opt-out-reject >/dev/null
  on_teardown "$CLUSTER" webhooks "$(state)" kubemacpool-pods-opt-in kubemacpool-vms-opt-out
  local mac
  mac=$(mac_of source)
  allow_duplicate "$mac"
  run --separate-stderr k create -f - < <(wf_vm receiver "$mac" WaitAsReceiver)
  [ "$status" -eq 0 ]
  [[ "$stderr" != *Warning* ]]
  [ "$(mac_of receiver)" = "$mac" ]
  [ -z "$(audited receiver)" ]
  # The same MAC on a VM of another run strategy is refused.
  run --separate-stderr k create -f - < <(wf_vm not-a-receiver "$mac" Always)
  [ "$status" -ne 0 ]
}

@test "a VirtualMachinePool: scale-out from its template gets distinct MACs; a rolling update replacing labels and spec keeps them" {
  local i macs
  # The pool controller creates <pool>-<n> from the template (no MAC in it).
  for i in 0 1 2 3; do wf_vm "pool-$i" | k create -f - >/dev/null; done
  macs=$(for i in 0 1 2 3; do mac_of "pool-$i"; done | sort -u | wc -l)
  [ "$macs" -eq 4 ]
  local before
  before=$(for i in 0 1 2 3; do mac_of "pool-$i"; done)
  # A rolling update: each VM replaced wholesale with the new template (new labels, no MAC).
  for i in 0 1 2 3; do
    wf_vm "pool-$i" | sed "s/^    app: pool-$i\$/    app: pool-$i\n    revision: \"2\"/" | k replace -f - >/dev/null
  done
  [ "$(for i in 0 1 2 3; do mac_of "pool-$i"; done)" = "$before" ]
  for i in 0 1 2 3; do
    own_labels "pool-$i"
    [ "$(k get vm "pool-$i" -n wf -o json | jq -r '.metadata.labels.revision')" = 2 ]
  done
}

@test "NIC hotplug: a new interface gets a fresh MAC, the others keep theirs; state absent keeps it until removed" {
  local mac
  mac=$(mac_of pool-0)
  k patch vm pool-0 -n wf --type=json -p '[
    {"op":"add","path":"/spec/template/spec/domain/devices/interfaces/-","value":{"name":"red","bridge":{}}},
    {"op":"add","path":"/spec/template/spec/networks/-","value":{"name":"red","multus":{"networkName":"red-net"}}}]' >/dev/null
  local red
  red=$(k get vm pool-0 -n wf -o json | jq -r '.spec.template.spec.domain.devices.interfaces[1].macAddress')
  [[ "$red" =~ $MAC_RE ]]
  [ "$red" != "$mac" ]
  [ "$(mac_of pool-0)" = "$mac" ]
  own_labels pool-0
  # Unplug: marked absent (kept, with its MAC), then removed.
  k patch vm pool-0 -n wf --type=json -p '[{"op":"add","path":"/spec/template/spec/domain/devices/interfaces/1/state","value":"absent"}]' >/dev/null
  [ "$(k get vm pool-0 -n wf -o json | jq -r '.spec.template.spec.domain.devices.interfaces[1].macAddress')" = "$red" ]
  k patch vm pool-0 -n wf --type=json -p '[{"op":"remove","path":"/spec/template/spec/domain/devices/interfaces/1"},
    {"op":"remove","path":"/spec/template/spec/networks/1"}]' >/dev/null
  [ "$(mac_of pool-0)" = "$mac" ]
  own_labels pool-0
}

@test "a VM without interfaces (instancetype style) gets no MAC and only the indexed label" {
  k create -f - >/dev/null <<EOF
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: no-interfaces
  namespace: wf
spec:
  runStrategy: Halted
  instancetype:
    name: u1.small
  template:
    spec:
      domain:
        devices: {}
EOF
  k get vm no-interfaces -n wf -o json | jq -e '.metadata.labels == {"kubemacpool.io/indexed": "v2"}
    and (.spec.template.spec.domain.devices | has("interfaces") | not)' >/dev/null
}

@test "the seed: a second cluster gives the same VM another MAC; with an explicit seed both give the same" {
  SECOND_STATE="$BATS_RUN_TMPDIR/second"
  # Its own registry and module push, as a second cluster of the same fleet would.
  env -u KMP_POLICY_MODULE -u KMP_SOURCES "$CLUSTER" up "$SECOND_STATE" >/dev/null 2>&1
  k2() { "$BIN/kubectl" --kubeconfig "$SECOND_STATE/admin.kubeconfig" "$@"; }
  [ "$(k get ns kube-system -o jsonpath='{.metadata.uid}')" != "$(k2 get ns kube-system -o jsonpath='{.metadata.uid}')" ]
  k2 create namespace wf >/dev/null
  wf_vm twin | k create -f - >/dev/null
  wf_vm twin | k2 create -f - >/dev/null
  local here there
  here=$(mac_of twin)
  there=$(k2 get vm twin -n wf -o json | jq -r '.spec.template.spec.domain.devices.interfaces[0].macAddress')
  echo "twin: $here here, $there in the second cluster"
  [ "$here" != "$there" ]
  # The same explicit seed in both: identical choices, on purpose.
  "$CLUSTER" webhooks "$(state)" kubemacpool-pods-opt-in-seeded kubemacpool-vms-opt-out-seeded >/dev/null
  on_teardown "$CLUSTER" webhooks "$(state)" kubemacpool-pods-opt-in kubemacpool-vms-opt-out
  "$CLUSTER" webhooks "$SECOND_STATE" kubemacpool-pods-opt-in-seeded kubemacpool-vms-opt-out-seeded >/dev/null
  wf_vm seeded-twin | k create -f - >/dev/null
  wf_vm seeded-twin | k2 create -f - >/dev/null
  [ "$(mac_of seeded-twin)" = "$(k2 get vm seeded-twin -n wf -o json | jq -r '.spec.template.spec.domain.devices.interfaces[0].macAddress')" ]
  "$CLUSTER" down "$SECOND_STATE"
  SECOND_STATE=
}
