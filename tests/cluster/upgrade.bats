#!/usr/bin/env bats
# Upgrading from the version that wrote index v1 (behaviour.md 7.1, docs/inventory.md "After
# upgrading"), on a real API server (`make cluster-tests`): a cluster indexed by that version
# (tests/cluster/previous.sh builds it from this repository's history), then this module deployed.
# Its admissions are correct before the re-index (the v1-labelled objects are in the legacy lists)
# and after it, no MAC is held twice or changes (kmp.cluster.invariant after every test), and the
# commands docs/inventory.md gives empty the legacy lists.

bats_require_minimum_version 1.5.0
load helpers

# The VMs and Pods the previous version admits (each VM: a masquerade interface; each Pod: one
# Multus network).
VMS=12
PODS=6

setup_file() {
  PREVIOUS=$("$CLUSTER_DIR/previous.sh")
  export PREVIOUS
  KMP_POLICY_MODULE="file://$PREVIOUS" cluster_up_for_file "the upgrade tests" "kube-apiserver and etcd"
  [ -z "${KMP_SKIP:-}" ] || return 0
  mkns upgrade mutatepods.kubemacpool.io=allocate
  # duplicateMacs reject, so that a MAC the policy sees held is refused, naming the holder.
  "$CLUSTER" webhooks "$(state)" kubemacpool-pods-opt-in-reject kubemacpool-vms-opt-out-reject >&3 2>&1
}

# legacy_vms, legacy_pods: what the legacy lists of index v2 return (docs/inventory.md's count).
legacy_vms() { k get vm -A -l 'kubemacpool.io/indexed!=v2' --no-headers 2>/dev/null | wc -l; }
legacy_pods() { k get pods -A -l 'kubemacpool.io/tracked=true,kubemacpool.io/indexed!=v2' --no-headers 2>/dev/null | wc -l; }
pod_mac() { pod_networks upgrade "$1" | jq -r '.[0].mac'; }

# old_apply: `kubectl apply` of stdin under the previous version. It is not primed (its 512 block
# watches would take minutes), so now and then a new watch's LIST waits behind an older watch for up
# to 290 s (docs/operations.md) and the create fails at the webhook's 10 s timeout; the object is not
# stored then, and old_apply retries as a controller would, until the watch has synced.
old_apply() {
  local manifest out start=$SECONDS
  manifest=$(cat)
  until out=$(k apply -f - <<<"$manifest" 2>&1 >/dev/null); do
    if [[ "$out" != *"context deadline exceeded"* ]] || [ $((SECONDS - start)) -ge 330 ]; then
      echo "$out" >&2
      return 1
    fi
    echo "# a create timed out behind a held LIST; retrying ($((SECONDS - start)) s so far)" >&3
    sleep 5
  done
}

@test "the previous version indexes the cluster with v1 labels" {
  local i
  for i in $(seq 1 "$VMS"); do vm upgrade "old-vm-$i" | old_apply; done
  for i in $(seq 1 "$PODS"); do pod upgrade "old-pod-$i" '[{"name":"blue"}]' | old_apply; done
  k get vm old-vm-1 -n upgrade -o json | jq -e '.metadata.labels["kubemacpool.io/indexed"] == "v1"
    and ([.metadata.labels | keys[] | select(startswith("mac-block.kubemacpool.io/"))] | length) == 1' >/dev/null
  k get pod old-pod-1 -n upgrade -o json | jq -e '.metadata.labels["kubemacpool.io/indexed"] == "v1"' >/dev/null
  [ "$(legacy_vms)" -eq "$VMS" ]
  [ "$(legacy_pods)" -eq "$PODS" ]
}

@test "this version deployed: the v1-indexed objects are seen before any re-index" {
  "$CLUSTER" module "$(state)" "file://$REPO/annotated-policy.wasm" >&3 2>&1
  warm 1
  [ "$(legacy_vms)" -eq "$VMS" ]
  # A MAC held by a v1-indexed VM and one held by a v1-indexed Pod, requested under reject: both
  # refused, naming the holder (the legacy lists return them).
  local held
  held=$(vm_macs upgrade old-vm-3 | jq -r '.[0]')
  run --separate-stderr k apply -f - < <(vm upgrade copy-of-vm "$held")
  [ "$status" -ne 0 ]
  [[ "$stderr" == *"${VM_CREATE_WRAPPER}failed to allocate requested mac address: $held is used by VirtualMachine upgrade/old-vm-3"* ]]
  held=$(pod_mac old-pod-2)
  run --separate-stderr k apply -f - < <(pod upgrade copy-of-pod "[{\"name\":\"blue\",\"mac\":\"$held\"}]")
  [ "$status" -ne 0 ]
  [[ "$stderr" == *"failed to allocate requested mac address: $held is used by Pod upgrade/old-pod-2"* ]]
  # New objects get fresh MACs and v2 labels (the invariant checks them against every old MAC).
  local i
  for i in 1 2 3 4; do vm upgrade "new-vm-$i" | k apply -f - >/dev/null; done
  pod upgrade new-pod '[{"name":"blue"}]' | k apply -f - >/dev/null
  k get vm new-vm-1 -n upgrade -o json | jq -e "$JQ_SPAN"' .metadata.labels["kubemacpool.io/indexed"] == "v2"
    and ([.metadata.labels | keys[] | select(startswith("mac-block"))] == [(.spec.template.spec.domain.devices.interfaces[0].macAddress | split(":")[4] | span_label(4))])' >/dev/null
  [ "$(legacy_vms)" -eq "$VMS" ]
}

@test "the re-index commands of docs/inventory.md empty the legacy lists and change no MAC" {
  # The commands as the page shows them, with this cluster's kubectl.
  local commands="$BATS_TEST_TMPDIR/reindex.sh"
  awk '/^### After upgrading/ { on = 1 } on && /^```console/ { block = 1; next } block && /^```/ { exit } block' \
    "$REPO/docs/inventory.md" >"$commands"
  grep -q 'kubemacpool.io/reindex' "$commands"
  kubectl() { k "$@"; }
  # shellcheck disable=SC1090
  . "$commands" >/dev/null
  unset -f kubectl
  [ "$(legacy_vms)" -eq 0 ]
  [ "$(legacy_pods)" -eq 0 ]
  # Every object now carries v2 labels only.
  k get vm,pod -n upgrade -o json | jq -e '[.items[] | .metadata.labels // {} | keys[] | select(startswith("mac-block.kubemacpool.io/"))] == []' >/dev/null
  k get vm old-vm-5 -n upgrade -o json | jq -e "$JQ_SPAN"' .metadata.labels["kubemacpool.io/indexed"] == "v2"
    and .metadata.labels[(.spec.template.spec.domain.devices.interfaces[0].macAddress | split(":")[4] | span_label(4))] == ""' >/dev/null
  k get pod old-pod-4 -n upgrade -o json | jq -e "$JQ_SPAN"' .metadata.labels["kubemacpool.io/indexed"] == "v2"
    and .metadata.labels[(.metadata.annotations["k8s.v1.cni.cncf.io/networks"] | fromjson | .[0].mac | split(":")[4] | span_label(16))] == ""' >/dev/null
}

@test "after the re-index the span lists find the old objects: a held MAC is still refused" {
  local held
  held=$(vm_macs upgrade old-vm-7 | jq -r '.[0]')
  run --separate-stderr k apply -f - < <(vm upgrade late-copy-of-vm "$held")
  [ "$status" -ne 0 ]
  [[ "$stderr" == *"$held is used by VirtualMachine upgrade/old-vm-7"* ]]
  held=$(pod_mac old-pod-5)
  run --separate-stderr k apply -f - < <(pod upgrade late-copy-of-pod "[{\"name\":\"blue\",\"mac\":\"$held\"}]")
  [ "$status" -ne 0 ]
  [[ "$stderr" == *"$held is used by Pod upgrade/old-pod-5"* ]]
}
