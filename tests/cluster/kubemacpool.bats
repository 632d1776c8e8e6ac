#!/usr/bin/env bats
# Kubemacpool v0.51.1 on the test cluster, instead of the policy (`make kubemacpool-tests`): the
# cluster of cluster.sh, the manager built from its release tarball (kubemacpool/build.sh) and run
# out of cluster behind its own release webhook configuration (kubemacpool/kubemacpool.sh, its
# NOTES.md). A smoke test: a VM and a Multus Pod applied with kubectl get MACs from it.

bats_require_minimum_version 1.5.0
load helpers

KMP="$CLUSTER_DIR/kubemacpool/kubemacpool.sh"

setup_file() {
  cluster_up_for_file "the Kubemacpool smoke test" "kube-apiserver, etcd and Kubemacpool" "$CLUSTER_DIR/kubemacpool/build.sh"
  [ -z "${KMP_SKIP:-}" ] || return 0
  "$KMP" up "$KMP_CLUSTER_STATE" >&3 2>&1
  # pods opt-in (Kubemacpool's release default): the namespace label its pod webhook selects
  mkns kmp-smoke mutatepods.kubemacpool.io=allocate
}

setup() {
  [ -z "${KMP_SKIP:-}" ] || skip "$KMP_SKIP"
  load_cluster_env
  read -r RANGE_START RANGE_END <"$(state)/kubemacpool/range"
}

in_range() { # in_range MAC: within Kubemacpool's configured range (the policy's)
  python3 -c 'import sys; n = lambda m: int(m.replace(":", ""), 16); sys.exit(0 if n(sys.argv[2]) <= n(sys.argv[1]) <= n(sys.argv[3]) else 1)' \
    "$1" "$RANGE_START" "$RANGE_END"
}

@test "only Kubemacpool's webhook configuration is installed, as released but for its clientConfig" {
  [ -z "$(k get mutatingwebhookconfigurations -l app.kubernetes.io/part-of=kubewarden -o name)" ]
  # the URL: the stand-in for its Service, which routes to the manager's :8000 while it is ready
  k get mutatingwebhookconfiguration kubemacpool-mutator -o json | jq -e --arg base "https://127.0.0.1:$KMP_SERVICE_PORT" '
    [.webhooks[] | {name, url: .clientConfig.url, failurePolicy, sideEffects,
                    ops: .rules[0].operations, res: .rules[0].resources}] == [
      {name: "mutatepods.kubemacpool.io", url: "\($base)/mutate-pods", failurePolicy: "Fail",
       sideEffects: "NoneOnDryRun", ops: ["CREATE"], res: ["pods"]},
      {name: "mutatevirtualmachines.kubemacpool.io", url: "\($base)/mutate-virtualmachines",
       failurePolicy: "Fail", sideEffects: "NoneOnDryRun", ops: ["CREATE", "UPDATE"], res: ["virtualmachines"]}]' >/dev/null
}

@test "kubectl apply of a VM through Kubemacpool: it gets a MAC from the range, and no policy label" {
  vm kmp-smoke smoke-vm | k apply -f - >/dev/null
  local mac
  mac=$(k get vm smoke-vm -n kmp-smoke -o json | jq -r '.spec.template.spec.domain.devices.interfaces[0].macAddress')
  echo "VM MAC: $mac"
  [[ "$mac" =~ $MAC_RE ]]
  in_range "$mac"
  run ! bash -c "'$BIN/kubectl' --kubeconfig '$(state)/admin.kubeconfig' get vm smoke-vm -n kmp-smoke -o json | jq -e '.metadata.labels | keys[] | select(startswith(\"kubemacpool.io/\") or startswith(\"mac-block\"))'"
}

@test "kubectl apply of a Multus Pod through Kubemacpool: its network gets a MAC, distinct from the VM's" {
  pod kmp-smoke smoke-pod '[{"name":"blue"}]' | k apply -f - >/dev/null
  local mac vm_mac
  mac=$(pod_networks kmp-smoke smoke-pod | jq -r '.[0].mac')
  echo "Pod MAC: $mac ($(pod_networks kmp-smoke smoke-pod))"
  [[ "$mac" =~ $MAC_RE ]]
  in_range "$mac"
  [ "$(pod_networks kmp-smoke smoke-pod | jq -r '.[0].name')" = blue ]
  vm_mac=$(k get vm smoke-vm -n kmp-smoke -o json | jq -r '.spec.template.spec.domain.devices.interfaces[0].macAddress')
  [ "$mac" != "$vm_mac" ]
}

@test "the API server called Kubemacpool's webhooks for those creates (its own admission metrics)" {
  local metrics
  metrics=$(k get --raw /metrics | grep '^apiserver_admission_webhook_admission_duration_seconds_count{' | grep 'operation="CREATE"')
  echo "$metrics"
  echo "$metrics" | grep -E 'name="mutatevirtualmachines\.kubemacpool\.io".*rejected="false".*type="admit"} [1-9]'
  echo "$metrics" | grep -E 'name="mutatepods\.kubemacpool\.io".*rejected="false".*type="admit"} [1-9]'
  # the policy's webhooks answered only cluster.sh's start-up probes (invalid MACs, refused)
  run ! grep -E 'kubewarden.*rejected="false"' <<<"$metrics"
}

@test "Kubemacpool v0.51.1 admits a Pod asking for the VM's MAC (it refuses no requested duplicate; its collision controllers report running ones)" {
  local vm_mac
  vm_mac=$(k get vm smoke-vm -n kmp-smoke -o json | jq -r '.spec.template.spec.domain.devices.interfaces[0].macAddress')
  pod kmp-smoke copycat "[{\"name\":\"blue\",\"mac\":\"$vm_mac\"}]" | k apply -f - >/dev/null
  [ "$(pod_networks kmp-smoke copycat | jq -r '.[0].mac')" = "$vm_mac" ]
}

@test "with the manager stopped a VM create is refused (failurePolicy Fail); restarted, it rebuilds its pool and allocates a MAC no one holds" {
  "$KMP" stop "$(state)"
  on_teardown "$KMP" start "$(state)"
  run -1 bash -c "$(declare -f vm); vm kmp-smoke while-down | '$BIN/kubectl' --kubeconfig '$(state)/admin.kubeconfig' apply -f - 2>&1"
  echo "$output"
  [[ "$output" == *'failed calling webhook "mutatevirtualmachines.kubemacpool.io"'* ]]
  "$KMP" start "$(state)"
  echo "ready again in $(cat "$(state)/kubemacpool/start-ready-ms") ms"
  vm kmp-smoke after-restart | k apply -f - >/dev/null
  local mac held
  mac=$(k get vm after-restart -n kmp-smoke -o json | jq -r '.spec.template.spec.domain.devices.interfaces[0].macAddress')
  held=$(k get vm smoke-vm -n kmp-smoke -o json | jq -r '.spec.template.spec.domain.devices.interfaces[0].macAddress'; pod_networks kmp-smoke smoke-pod | jq -r '.[0].mac')
  echo "after restart: $mac; held: $held"
  [[ "$mac" =~ $MAC_RE ]]
  run ! grep -qx "$mac" <<<"$held"
}

teardown() {
  [ -n "${KMP_SKIP:-}" ] || run_cleanup
}
