#!/usr/bin/env bats
# behaviour.md 4.1 on a real API server (`make cluster-tests`): a Pod's Multus annotation keeps
# its MACs through `kubectl apply` (client-side and server-side), `kubectl replace`, a network
# hotplug and a GitOps-style re-apply loop. Every check reads the stored object with
# `kubectl get -o json`; after each test the cluster invariant holds (kmp.cluster.invariant: no MAC lost,
# changed or held twice, and a Pod's index labels match the MACs its annotation holds).

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  cluster_up_for_file "the real-cluster tests" "kube-apiserver and etcd"
  [ -z "${KMP_SKIP:-}" ] || return 0
  warm 1
  mkns reapply mutatepods.kubemacpool.io=allocate
}

# stored NAME: the stored Pod reapply/NAME as JSON.
stored() { k get pod "$1" -n reapply -o json; }
# macs NAME: the MACs of its annotation, in order (null for an element without one).
macs() { stored "$1" | jq -c '.metadata.annotations["k8s.v1.cni.cncf.io/networks"] | fromjson | map(.mac)'; }
# spans NAME: its span labels' spans, sorted.
spans() {
  stored "$1" | jq -c '[.metadata.labels | keys[] | select(startswith("mac-blocks.kubemacpool.io/")) | split("/")[1]] | sort'
}
# labelled NAME: the labels match the MACs: one span label per Pod span held, none of index v1,
# tracked and indexed v2.
labelled() {
  stored "$1" | jq -e "$JQ_SPAN"' (.metadata.annotations["k8s.v1.cni.cncf.io/networks"] | fromjson | map(.mac // empty | ascii_downcase | gsub("-"; ":") | split(":")[4] | span(16)) | unique) as $want
    | ([.metadata.labels | keys[] | select(startswith("mac-blocks.kubemacpool.io/")) | split("/")[1]] | sort) == $want
      and ([.metadata.labels | keys[] | select(startswith("mac-block.kubemacpool.io/"))] == [])
      and .metadata.labels["kubemacpool.io/tracked"] == "true" and .metadata.labels["kubemacpool.io/indexed"] == "v2"' >/dev/null
}
# allocated MACS-JSON: every element holds a MAC from the range, all distinct.
allocated() { jq -e --arg re "$MAC_RE" 'all(.[]; type == "string" and test($re)) and (unique | length) == length' <<<"$1" >/dev/null; }

MANIFEST='[{"name":"br1","interface":"net1"},{"name":"br2","namespace":"reapply","x-vendor":"kept"}]'

@test "the shipped Pod policies and the webhooks derived from them send Pod UPDATE to the policy" {
  local name
  for name in kubemacpool-pods-opt-in kubemacpool-pods-opt-out; do
    python3 -c 'import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "ClusterAdmissionPolicy"]
rules = docs[0]["spec"]["rules"]
assert any("pods" in r["resources"] and "UPDATE" in r["operations"] for r in rules), rules' "$REPO/manifests/$name.yaml"
  done
  # The active Pod webhook, as the API server stores it.
  k get mutatingwebhookconfiguration clusterwide-kubemacpool-pods-opt-in -o json |
    jq -e '[.webhooks[].rules[] | select(.resources | index("pods")) | .operations | index("UPDATE")] | all(. != null) and length > 0'
  # And the API server does send it: an UPDATE that writes an unparsable MAC is refused with the
  # policy's message.
  pod reapply probe "$MANIFEST" | k apply -f -
  on_teardown k delete pod probe -n reapply --wait=false
  run -1 --separate-stderr k annotate pod probe -n reapply --overwrite \
    'k8s.v1.cni.cncf.io/networks=[{"name":"br1","mac":"02:00:00:00:00"}]'
  [[ "$stderr" == *"address 02:00:00:00:00: invalid MAC address"* ]]
  allocated "$(macs probe)"
}

@test "a second kubectl apply of the same Pod manifest keeps every MAC" {
  pod reapply client-side "$MANIFEST" | k apply -f -
  on_teardown k delete pod client-side -n reapply --wait=false
  local before
  before=$(macs client-side)
  allocated "$before"
  pod reapply client-side "$MANIFEST" | sed 's/^    app: client-side$/    app: client-side\n    tier: web/' | k apply -f -
  [ "$(macs client-side)" = "$before" ]
  stored client-side | jq -e '.metadata.labels.tier == "web"
    and (.metadata.annotations["k8s.v1.cni.cncf.io/networks"] | fromjson | .[1]["x-vendor"] == "kept")'
  labelled client-side
  # An unchanged third apply: nothing to change.
  pod reapply client-side "$MANIFEST" | sed 's/^    app: client-side$/    app: client-side\n    tier: web/' | k apply -f -
  [ "$(macs client-side)" = "$before" ]
}

@test "kubectl apply --server-side, again and with --force-conflicts, keeps every MAC" {
  pod reapply server-side "$MANIFEST" | k apply --server-side -f -
  on_teardown k delete pod server-side -n reapply --wait=false
  local before
  before=$(macs server-side)
  allocated "$before"
  pod reapply server-side "$MANIFEST" | k apply --server-side -f -
  [ "$(macs server-side)" = "$before" ]
  # Another field manager takes the annotation over, as a GitOps controller does.
  pod reapply server-side "$MANIFEST" | k apply --server-side --force-conflicts --field-manager argocd-controller -f -
  [ "$(macs server-side)" = "$before" ]
  labelled server-side
}

@test "kubectl replace with the Pod manifest keeps every MAC" {
  pod reapply replaced "$MANIFEST" | k create -f -
  on_teardown k delete pod replaced -n reapply --wait=false
  local before
  before=$(macs replaced)
  allocated "$before"
  # replace sends a whole object. The API server forbids replacing a Pod with its bare manifest
  # (the spec it stored has the ServiceAccount volume), so the object replaced is the stored one
  # with the manifest's annotation and without the labels the policy wrote: they come back.
  stored replaced | jq --arg networks "$MANIFEST" '.metadata.annotations["k8s.v1.cni.cncf.io/networks"] = $networks
    | .metadata.labels |= with_entries(select(.key | test("kubemacpool.io") | not))' | k replace -f -
  [ "$(macs replaced)" = "$before" ]
  labelled replaced
}

@test "a hotplugged network gets a fresh MAC, the others keep theirs, and the block labels follow" {
  pod reapply hotplug '[{"name":"br1","interface":"net1"}]' | k apply -f -
  on_teardown k delete pod hotplug -n reapply --wait=false
  local first value
  first=$(macs hotplug | jq -r '.[0]')
  # The dynamic networks controller writes the value it read plus the new element.
  value=$(stored hotplug | jq -c '.metadata.annotations["k8s.v1.cni.cncf.io/networks"] | fromjson | . + [{"name":"br2","interface":"net2"}]')
  k annotate pod hotplug -n reapply --overwrite "k8s.v1.cni.cncf.io/networks=$value"
  local after
  after=$(macs hotplug)
  echo "after the hotplug: $after"
  jq -e --arg first "$first" '.[0] == $first and length == 2' <<<"$after"
  allocated "$after"
  labelled hotplug
  # A network whose MAC the user gives, in another Pod span than the pod's: its label comes and
  # goes with it.
  local own other mac
  own=$(cut -d: -f5 <<<"$first" | jq -R -r "$JQ_SPAN"' span(16)')
  other=$([ "$own" = 70-7f ] && echo 80-8f || echo 70-7f)
  mac="02:00:00:00:${other:0:2}:01"
  value=$(stored hotplug | jq -c --arg mac "$mac" '.metadata.annotations["k8s.v1.cni.cncf.io/networks"] | fromjson | . + [{"name":"br3","mac":$mac}]')
  k annotate pod hotplug -n reapply --overwrite "k8s.v1.cni.cncf.io/networks=$value"
  spans hotplug | jq -e --arg own "$own" --arg other "$other" 'index($own) != null and index($other) != null'
  labelled hotplug
  value=$(stored hotplug | jq -c '.metadata.annotations["k8s.v1.cni.cncf.io/networks"] | fromjson | map(select(.name != "br3"))')
  k annotate pod hotplug -n reapply --overwrite "k8s.v1.cni.cncf.io/networks=$value"
  spans hotplug | jq -e --arg other "$other" 'index($other) == null'
  [ "$(macs hotplug)" = "$after" ]
  labelled hotplug
}

@test "a GitOps loop: 50 Multus Pods, each re-applied 10 times by server-side apply from 4 parallel clients, keep every MAC" {
  local dir="$BATS_TEST_TMPDIR" i c r
  for i in $(seq 1 50); do
    pod reapply "gitops-$i" '[{"name":"br1","interface":"net1"},{"name":"br2"}]'
    echo ---
  done >"$dir/all.yaml"
  k apply --server-side -f "$dir/all.yaml" >/dev/null
  on_teardown k delete -f "$dir/all.yaml" --wait=false
  k get pod -n reapply -o json | jq -c '[.items[] | select(.metadata.name | startswith("gitops-")) | {(.metadata.name): (.metadata.annotations["k8s.v1.cni.cncf.io/networks"] | fromjson | map(.mac))}] | add' >"$dir/before.json"
  jq -e 'length == 50' "$dir/before.json"
  # Client c applies, in round r, the pods i with (i + r) % 4 == c, as field manager gitops-c:
  # every round every pod is applied once, by a client that changes from round to round.
  for c in 0 1 2 3; do
    for r in $(seq 1 10); do
      for i in $(seq 1 50); do
        [ $(((i + r) % 4)) -eq "$c" ] || continue
        pod reapply "gitops-$i" '[{"name":"br1","interface":"net1"},{"name":"br2"}]'
        echo ---
      done >"$dir/client-$c-round-$r.yaml"
    done
  done
  local start=$SECONDS pids=()
  for c in 0 1 2 3; do
    (for r in $(seq 1 10); do
      k apply --server-side --force-conflicts --field-manager "gitops-$c" -f "$dir/client-$c-round-$r.yaml" || exit 1
    done) >"$dir/client-$c.out" 2>&1 &
    pids+=($!)
  done
  local failed=0
  for c in "${pids[@]}"; do wait "$c" || failed=$((failed + 1)); done
  echo "# 500 server-side applies by 4 clients in $((SECONDS - start)) s" >&3
  [ "$failed" -eq 0 ] || { grep -hv 'serverside-applied\|unchanged' "$dir"/client-*.out | head; return 1; }
  k get pod -n reapply -o json | jq -c '[.items[] | select(.metadata.name | startswith("gitops-")) | {(.metadata.name): (.metadata.annotations["k8s.v1.cni.cncf.io/networks"] | fromjson | map(.mac))}] | add' >"$dir/after.json"
  cmp "$dir/before.json" "$dir/after.json"
  jq -e --arg re "$MAC_RE" '[.[][]] | all(test($re)) and (unique | length) == 100' "$dir/after.json"
  # kmp.cluster.invariant (teardown) checks every Pod's labels against its MACs.
}
