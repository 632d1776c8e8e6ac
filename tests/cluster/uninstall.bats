#!/usr/bin/env bats
# Uninstalling the policy (docs/operations.md, "Uninstalling") on a real API server, then
# Kubemacpool v0.51.1 installed in its place with the same range (`make kubemacpool-tests`): the
# documented commands leave no label or annotation of the policy and change no MAC, and
# Kubemacpool's rebuilt pool counts every MAC the policy handed out as used. A range of 8
# addresses makes the last claim testable: the policy hands out 6, Kubemacpool must give the next
# two VMs the two free ones and refuse a third.

bats_require_minimum_version 1.5.0
load helpers

KMP="$CLUSTER_DIR/kubemacpool/kubemacpool.sh"
RANGE_START=02:00:00:00:07:00
RANGE_END=02:00:00:00:07:07

setup_file() {
  # The shipped policies with the narrow range, as a user who edited the manifests' settings.
  export KMP_DERIVE_ARGS="--variant narrow:rangeStart=$RANGE_START,rangeEnd=$RANGE_END"
  cluster_up_for_file "the uninstall tests" "kube-apiserver, etcd and Kubemacpool" "$CLUSTER_DIR/kubemacpool/build.sh"
  [ -z "${KMP_SKIP:-}" ] || return 0
  warm 1
  mkns gone mutatepods.kubemacpool.io=allocate
  "$CLUSTER" webhooks "$(state)" kubemacpool-pods-opt-in-narrow kubemacpool-vms-opt-out-narrow >&3 2>&1
}

teardown_file() {
  [ -z "${KMP_CLUSTER_STATE:-}" ] || { "$KMP" down "$KMP_CLUSTER_STATE" || true; "$CLUSTER" down "$KMP_CLUSTER_STATE"; }
}

# Labels are removed on purpose here, and Kubemacpool allocates after the policy: no invariant
# check after each test (helpers.bash's teardown), only the cleanups.
teardown() { [ -n "${KMP_SKIP:-}" ] || run_cleanup; }

# every_mac: every MAC held in the namespace, one per line, sorted.
every_mac() {
  k get vm -n gone -o json | jq -r '.items[].spec.template.spec.domain.devices.interfaces[].macAddress // empty'
  k get pod -n gone -o json | jq -r '.items[].metadata.annotations["k8s.v1.cni.cncf.io/networks"] // "[]" | fromjson | .[].mac // empty'
}

# policy_marks: every label and annotation key of the policy left on a VM or Pod, one per line.
policy_marks() {
  k get vm,pod -A -o json | jq -r '.items[] | .metadata as $m
    | ([($m.labels // {}), ($m.annotations // {})] | map(keys[]) | .[]
       | select(test("^(kubemacpool[.]io/|mac-blocks?[.]kubemacpool[.]io/)")))
    | "\(.) on \($m.namespace)/\($m.name)"'
}

@test "the policy hands out 6 of the range's 8 addresses, and labels their holders" {
  local i
  for i in 1 2 3 4; do vm gone "vm-$i" | k apply -f - >/dev/null; done
  pod gone pod-1 '[{"name":"blue"},{"name":"red"}]' | k apply -f - >/dev/null
  # as the adoption step leaves it (docs/inventory.md)
  k annotate vm vm-1 -n gone kubemacpool.io/reindex=2026-12-08T00:00:00Z >/dev/null
  every_mac | sort >"$(state)/policy-macs"
  cat "$(state)/policy-macs"
  [ "$(sort -u "$(state)/policy-macs" | wc -l)" -eq 6 ]
  run ! grep -v '^02:00:00:00:07:0[0-7]$' "$(state)/policy-macs"
  [ "$(policy_marks | wc -l)" -gt 0 ]
}

@test "the uninstall commands of docs/operations.md leave no label or annotation of the policy and change no MAC" {
  local commands="$BATS_TEST_TMPDIR/uninstall.sh"
  awk '/^## Uninstalling/ { on = 1 } on && /^```console/ { block = 1; next } block && /^```/ { exit } block' \
    "$REPO/docs/operations.md" >"$commands"
  grep -q 'kubectl delete clusteradmissionpolicy' "$commands"
  # What kubewarden-controller does when the ClusterAdmissionPolicies are deleted (there is no
  # controller here): their webhook configurations go. The rest of the commands run as they stand.
  kubectl() {
    if [ "$1 $2" = "delete clusteradmissionpolicy" ]; then
      "$CLUSTER" webhooks "$(state)"
    else
      k "$@"
    fi
  }
  # shellcheck disable=SC1090
  (cd "$REPO" && . "$commands") >/dev/null
  unset -f kubectl
  run -0 policy_marks
  [ -z "$output" ]
  run ! k get clusterrolebinding kubemacpool-policy-reader
  diff "$(state)/policy-macs" <(every_mac | sort)
}

@test "Kubemacpool installed with the same range: the next two VMs get the two free addresses, the third is refused" {
  KMP_RANGE="$RANGE_START $RANGE_END" "$KMP" up "$(state)" >&3 2>&1
  local i mac
  for i in 1 2; do
    vm gone "after-$i" | k apply -f - >/dev/null
    mac=$(vm_macs gone "after-$i" | jq -r '.[0]')
    echo "after-$i: $mac"
    run ! grep -qx "$mac" "$(state)/policy-macs"
  done
  [ "$(every_mac | sort -u | wc -l)" -eq 8 ]
  run -1 --separate-stderr k apply -f - < <(vm gone after-3)
  echo "$stderr"
  [[ "$stderr" == *"mutatevirtualmachines.kubemacpool.io"* ]]
}
