#!/usr/bin/env bats
# Kubewarden 1.35's audit scanner against the real test cluster (`make audit-tests`): the cluster of
# cluster.sh, the scanner built from kubewarden-controller v1.35.0 (audit/build.sh), the CRDs it
# reads and writes taken from that source, and the scanner run once from outside the cluster
# against policy-server-1 (audit.sh). KMP_AUDIT_REPORT_KIND picks what it stores: `openreports`
# (`kubectl get reports.openreports.io`, what a Kubewarden 1.35 Helm install uses) or
# `policyreport` (the scanner binary's default, `kubectl get policyreports`); audit.mk runs the file
# with each. setup_file builds a cluster with known collisions and index holes, scans it once, and
# keeps the stored reports; each test checks one group of objects in them. The last test runs the
# repair commands the messages name and scans again.

bats_require_minimum_version 1.5.0
load helpers

# The scenario holds duplicates and holes on purpose, for the scanner to report: no invariant
# check after each test (helpers.bash's teardown).
teardown() { :; }

AUDIT="$CLUSTER_DIR/audit.sh"
VMS_POLICY=clusterwide-kubemacpool-vms-opt-out
PODS_POLICY=clusterwide-kubemacpool-pods-opt-in

# The MACs the test asks for (blocks a1, a2, b3); everything else is allocated by the policy.
DUP_MAC=02:00:00:00:a1:01
SHARED_MAC=02:00:00:00:a2:01
HOLE_POD_MAC=02:00:00:00:b3:01

setup_file() {
  cluster_up_for_file "the audit-scanner tests" "kube-apiserver, etcd and the audit scanner" "$CLUSTER_DIR/audit/build.sh"
  [ -z "${KMP_SKIP:-}" ] || return 0
  warm 1
  "$AUDIT" setup "$KMP_CLUSTER_STATE" "${KMP_AUDIT_REPORT_KIND:-policyreport}"
  scenario
  "$AUDIT" run "$KMP_CLUSTER_STATE"
  echo "# first scan in $(cat "$KMP_CLUSTER_STATE/audit-seconds") s, reports of kind ${KMP_AUDIT_REPORT_KIND:-policyreport}" >&3
  "$AUDIT" reports-json "$KMP_CLUSTER_STATE" >"$(state)/scan1.json"
  "$AUDIT" reports "$KMP_CLUSTER_STATE" | sed 's/^/#   /' >&3
}

# A VM with the pod network (masquerade, `default`) and a Multus network `blue` (bridge, `net1`).
vm_multus() {
  cat <<EOF
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: $2
  namespace: $1
spec:
  runStrategy: Always
  template:
    spec:
      domain:
        devices:
          interfaces:
          - name: default
            masquerade: {}
          - name: net1
            bridge: {}
        resources:
          requests:
            memory: 64Mi
      networks:
      - name: default
        pod: {}
      - name: net1
        multus:
          networkName: blue
EOF
}

# What virt-controller would create for the running VM NAME: its VMI, and the launcher pod owned by
# the VMI, whose Multus annotation carries the MAC of the VM's net1 (as KubeVirt writes it).
vmi_and_launcher() {
  local ns=$1 name=$2 mac=$3 uid
  k apply -f - >/dev/null <<EOF
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: $name
  namespace: $ns
spec:
  domain:
    devices: {}
    resources:
      requests:
        memory: 64Mi
EOF
  uid=$(k get vmi "$name" -n "$ns" -o jsonpath='{.metadata.uid}')
  k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: virt-launcher-$name-abcde
  namespace: $ns
  labels:
    kubevirt.io: virt-launcher
    vm.kubevirt.io/name: $name
  annotations:
    k8s.v1.cni.cncf.io/networks: '[{"interface":"pod16477688c0e","mac":"$mac","name":"blue","namespace":"$ns"}]'
  ownerReferences:
  - apiVersion: kubevirt.io/v1
    kind: VirtualMachineInstance
    name: $name
    uid: $uid
    controller: true
    blockOwnerDeletion: true
spec:
  containers:
  - name: compute
    image: quay.io/kubevirt/virt-launcher:v1.7.0
EOF
}

# The cluster under audit. Webhooks: Kubemacpool's release defaults (pods opt-in, VMs opt-out),
# duplicateMacs warn, inventory indexed: duplicates are admitted with a warning, audits report them.
scenario() {
  mkns audit mutatepods.kubemacpool.io=allocate
  mkns audit-b
  # VM vs VM, in two namespaces: dup-b is what a VirtualMachineRestore to a new VM (or an MTV or
  # Velero import) creates while its source dup-a runs: the source's MAC, accepted under warn
  # (workflows.bats drives the restore itself)
  vm audit dup-a "$DUP_MAC" | k apply -f - >/dev/null
  vm audit-b dup-b "$DUP_MAC" | k apply -f - >/dev/null 2>&1
  # VM vs Pod
  vm audit shared-vm "$SHARED_MAC" | k apply -f - >/dev/null
  pod audit shared-pod "[{\"name\":\"blue\",\"mac\":\"$SHARED_MAC\"}]" | k apply -f - >/dev/null 2>&1
  # a VM and its own launcher pod; the launcher is labelled tracked by hand (the pods-tracked
  # adoption step run with `--all`), so the Pod UPDATE gives it index labels and the VM's block
  # list returns it
  vm_multus audit owned | k apply -f - >/dev/null
  vmi_and_launcher audit owned "$(k get vm owned -n audit -o json | jq -r '.spec.template.spec.domain.devices.interfaces[] | select(.name == "net1") | .macAddress')"
  k label pod virt-launcher-owned-abcde -n audit kubemacpool.io/tracked=true >/dev/null
  # index holes: a VM and a tracked Pod whose span labels were removed while their webhook was
  # away, and a Pod created with a MAC while the pods' webhook was away (no labels at all)
  vm audit hole-vm | k apply -f - >/dev/null
  pod audit hole-tracked-pod '[{"name":"blue"}]' | k apply -f - >/dev/null
  local span
  span=$(k get vm hole-vm -n audit -o json | jq -r "$JQ_SPAN"' .spec.template.spec.domain.devices.interfaces[0].macAddress | split(":")[4] | span(4)')
  "$CLUSTER" webhooks "$(state)" kubemacpool-pods-opt-in
  k label vm hole-vm -n audit "mac-blocks.kubemacpool.io/$span-" >/dev/null
  "$CLUSTER" webhooks "$(state)" kubemacpool-vms-opt-out
  span=$(pod_networks audit hole-tracked-pod | jq -r "$JQ_SPAN"' .[0].mac | split(":")[4] | span(16)')
  k label pod hole-tracked-pod -n audit "mac-blocks.kubemacpool.io/$span-" >/dev/null
  pod audit hole-pod "[{\"name\":\"blue\",\"mac\":\"$HOLE_POD_MAC\"}]" | k apply -f - >/dev/null
  "$CLUSTER" webhooks "$(state)" kubemacpool-pods-opt-in kubemacpool-vms-opt-out
  # the rest: a VM and a Pod with allocated MACs, a Pod without networks, and in audit-b (pods
  # not opted in) a Pod the pods policy does not select
  vm audit plain-vm | k apply -f - >/dev/null
  pod audit plain-pod '[{"name":"blue"},{"name":"red","namespace":"audit-b"}]' | k apply -f - >/dev/null
  k run no-networks -n audit --image registry.k8s.io/pause:3.10 >/dev/null
  pod audit-b unselected-pod '[{"name":"blue"}]' | k apply -f - >/dev/null
}

# results SCAN KIND NAMESPACE NAME: the object's results, one line each: POLICY RESULT MESSAGE
results() {
  jq -r --arg kind "$2" --arg ns "$3" --arg name "$4" '.items[]
    | select(.scope.kind == $kind and .scope.namespace == $ns and .scope.name == $name)
    | .results[] | "\(.policy) \(.result) \(.message // "")"' "$(state)/$1.json"
}

# expect_result SCAN KIND NAMESPACE NAME POLICY RESULT [MESSAGE]
expect_result() {
  local got want="$5 $6 ${7:-}"
  got=$(results "$1" "$2" "$3" "$4")
  if [ "$got" != "$want" ]; then
    printf '%s %s/%s\n  stored: %s\n  want:   %s\n' "$2" "$3" "$4" "${got:-(no report)}" "$want" >&2
    return 1
  fi
}

vm_mac() { k get vm "$2" -n "$1" -o json | jq -r ".spec.template.spec.domain.devices.interfaces[] | select(.name == \"$3\") | .macAddress"; }

@test "the scanner stores one report per audited object: every VM, the Pods of the opted-in namespace, nothing else" {
  jq -r '.items[] | "\(.scope.kind) \(.scope.namespace)/\(.scope.name)"' "$(state)/scan1.json" | sort >"$BATS_TEST_TMPDIR/got"
  {
    k get vm -A -o json | jq -r '.items[] | "VirtualMachine \(.metadata.namespace)/\(.metadata.name)"'
    k get pod -n audit -o json | jq -r '.items[] | "Pod \(.metadata.namespace)/\(.metadata.name)"'
  } | sort >"$BATS_TEST_TMPDIR/want"
  diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
  [ "$(wc -l <"$BATS_TEST_TMPDIR/got")" -eq 12 ]
  # each report: named by the object's uid, owned by it, one result from the policy that selects
  # it, written by the scanner (labels, source), the policy's category and severity
  jq -e --arg vms "$VMS_POLICY" --arg pods "$PODS_POLICY" 'all(.items[];
    .metadata.name == .scope.uid and .metadata.ownerReferences[0].uid == .scope.uid
    and .metadata.labels["app.kubernetes.io/managed-by"] == "kubewarden"
    and (.results | length) == 1
    and .results[0].policy == (if .scope.kind == "Pod" then $pods else $vms end)
    and .results[0].source == "kubewarden" and .results[0].category == "Network"
    and .results[0].severity == "medium"
    and .summary.error == 0 and .summary.skip == 0)' "$(state)/scan1.json" >/dev/null
  # the policies target no cluster-scoped kind: no cluster-scoped report
  [ "$("$AUDIT" reports-json "$KMP_CLUSTER_STATE" cluster | jq '.items | length')" -eq 0 ]
  run ! grep -q '"level":"error"' "$(state)/logs/audit-scanner.log"
}

@test "VM vs VM in two namespaces: both fail, each naming the other" {
  expect_result scan1 VirtualMachine audit dup-a "$VMS_POLICY" fail \
    "MAC collision: $DUP_MAC on interface default is also held by VirtualMachine audit-b/dup-b"
  expect_result scan1 VirtualMachine audit-b dup-b "$VMS_POLICY" fail \
    "MAC collision: $DUP_MAC on interface default is also held by VirtualMachine audit/dup-a"
}

@test "VM vs Pod: both fail, each naming the other" {
  expect_result scan1 VirtualMachine audit shared-vm "$VMS_POLICY" fail \
    "MAC collision: $SHARED_MAC on interface default is also held by Pod audit/shared-pod"
  expect_result scan1 Pod audit shared-pod "$PODS_POLICY" fail \
    "MAC collision: $SHARED_MAC on network blue is also held by VirtualMachine audit/shared-vm"
}

@test "a VM and its own launcher pod (indexed, so the Pod span list of the VM's block returns it): both pass" {
  local mac
  mac=$(vm_mac audit owned net1)
  # the launcher pod holds the VM's MAC and carries its Pod span's label: the VM's audit saw it
  k get pod virt-launcher-owned-abcde -n audit -o json |
    jq -e --arg mac "$mac" "$JQ_SPAN"'
      (.metadata.annotations["k8s.v1.cni.cncf.io/networks"] | fromjson | .[0].mac) == $mac
       and (.metadata.labels | has($mac | split(":")[4] | span_label(16)))' >/dev/null
  expect_result scan1 VirtualMachine audit owned "$VMS_POLICY" pass
  expect_result scan1 Pod audit virt-launcher-owned-abcde "$PODS_POLICY" pass
}

@test "index hole under inventory indexed: a VM that lost its span label fails, naming the label and the repair" {
  local mac span
  mac=$(vm_mac audit hole-vm default)
  span=$(cut -d: -f5 <<<"$mac" | jq -R -r "$JQ_SPAN"' span(4)')
  k get vm hole-vm -n audit -o json | jq -e '.metadata.labels["kubemacpool.io/indexed"] == "v2"' >/dev/null
  expect_result scan1 VirtualMachine audit hole-vm "$VMS_POLICY" fail \
    "index hole: MAC $mac on interface default is hidden from admissions: label mac-blocks.kubemacpool.io/$span is missing; re-apply the VirtualMachine to repair it: kubectl annotate vm hole-vm -n audit kubemacpool.io/reindex=\"\$(date +%s)\" --overwrite"
}

@test "index hole under inventory indexed: a Pod created with a MAC while the webhook was away fails, naming the label and the repair" {
  k get pod hole-pod -n audit -o json | jq -e '(.metadata.labels // {}) | keys | map(select(contains("kubemacpool"))) == []' >/dev/null
  expect_result scan1 Pod audit hole-pod "$PODS_POLICY" fail \
    "index hole: MAC $HOLE_POD_MAC on network blue is hidden from admissions: label mac-blocks.kubemacpool.io/b0-bf is missing; label the Pod with kubemacpool.io/tracked=true to repair it: kubectl label pod hole-pod -n audit kubemacpool.io/tracked=true"
}

@test "index hole under inventory indexed: a tracked Pod that lost its span label fails, naming an annotation as the repair" {
  local mac span
  mac=$(pod_networks audit hole-tracked-pod | jq -r '.[0].mac')
  span=$(cut -d: -f5 <<<"$mac" | jq -R -r "$JQ_SPAN"' span(16)')
  expect_result scan1 Pod audit hole-tracked-pod "$PODS_POLICY" fail \
    "index hole: MAC $mac on network blue is hidden from admissions: label mac-blocks.kubemacpool.io/$span is missing; re-apply the Pod to repair it: kubectl annotate pod hole-tracked-pod -n audit kubemacpool.io/reindex=\"\$(date +%s)\" --overwrite"
}

@test "exactly the colliding objects and the holes fail; the rest pass" {
  jq -r '.items[] | select(.results[0].result == "fail") | "\(.scope.kind) \(.scope.namespace)/\(.scope.name)"' \
    "$(state)/scan1.json" | sort >"$BATS_TEST_TMPDIR/failed"
  diff - "$BATS_TEST_TMPDIR/failed" <<'EOF'
Pod audit/hole-pod
Pod audit/hole-tracked-pod
Pod audit/shared-pod
VirtualMachine audit-b/dup-b
VirtualMachine audit/dup-a
VirtualMachine audit/hole-vm
VirtualMachine audit/shared-vm
EOF
  expect_result scan1 VirtualMachine audit plain-vm "$VMS_POLICY" pass
  expect_result scan1 Pod audit plain-pod "$PODS_POLICY" pass
  expect_result scan1 Pod audit no-networks "$PODS_POLICY" pass
  [ -z "$(results scan1 Pod audit-b unselected-pod)" ]
  jq -e '[.items[] | select(.results[0].result == "pass")] | length == 5
    and all(.[]; .summary.pass == 1 and .summary.fail == 0)' "$(state)/scan1.json" >/dev/null
}

@test "after the repairs the messages name, a second scan passes everything and drops the deleted objects' reports" {
  # the holes: the command each index-hole message names, as it stands
  local commands="$BATS_TEST_TMPDIR/repairs.sh"
  jq -r '.items[].results[0].message // "" | select(startswith("index hole")) | sub(".*to repair it: "; "")' \
    "$(state)/scan1.json" >"$commands"
  cat "$commands"
  [ "$(wc -l <"$commands")" -eq 3 ]
  kubectl() { k "$@"; }
  # shellcheck disable=SC1090
  . "$commands" >/dev/null
  unset -f kubectl
  k get pod hole-pod -n audit -o json | jq -e '.metadata.labels["mac-blocks.kubemacpool.io/b0-bf"] == ""' >/dev/null
  # the collisions: one holder of each duplicate goes
  k delete vm dup-b -n audit-b >/dev/null
  k delete pod shared-pod -n audit --wait=false >/dev/null
  "$AUDIT" run "$KMP_CLUSTER_STATE"
  echo "# second scan in $(cat "$(state)/audit-seconds") s"
  "$AUDIT" reports-json "$KMP_CLUSTER_STATE" >"$(state)/scan2.json"
  jq -r '.items[] | "\(.scope.kind) \(.scope.namespace)/\(.scope.name) \(.results[0].result) \(.results[0].message // "")"' \
    "$(state)/scan2.json" | sort
  jq -e 'all(.items[]; .results[0].result == "pass") and (.items | length) == 10' "$(state)/scan2.json" >/dev/null
  [ -z "$(results scan2 VirtualMachine audit-b dup-b)" ]
  [ -z "$(results scan2 Pod audit shared-pod)" ]
  expect_result scan2 VirtualMachine audit dup-a "$VMS_POLICY" pass
  expect_result scan2 VirtualMachine audit shared-vm "$VMS_POLICY" pass
  expect_result scan2 VirtualMachine audit hole-vm "$VMS_POLICY" pass
  expect_result scan2 Pod audit hole-pod "$PODS_POLICY" pass
  expect_result scan2 Pod audit hole-tracked-pod "$PODS_POLICY" pass
}
