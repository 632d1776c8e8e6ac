#!/usr/bin/env bats
# End-to-end tests: the real policy.wasm evaluated by `kwctl run` (or the repository's
# kwctl-compatible test host: `make e2e-tests` sets KWCTL and POLICY), host calls answered
# from the recorded sessions in test_data/.

bats_require_minimum_version 1.5.0

KWCTL="${KWCTL:-kwctl}"
POLICY="${POLICY:-annotated-policy.wasm}"
MAC_RE='^[0-9a-f]{2}(:[0-9a-f]{2}){5}$'
CREATE_WRAPPER='Failed to create virtual machine allocation error: Failed to allocate mac to the vm object: '
UPDATE_WRAPPER='Failed to update virtual machine allocation error: '
# A pool of four addresses, .10 .20 .30 .40, of which the sample cluster holds .10 (VM default/web),
# .20 (VM prod/db and its launcher pod) and .40 (pod default/net-tool); .30 belongs to a VM being deleted.
FOUR_POOL='{"rangeStart":"02:00:00:00:00:10","rangeEnd":"02:00:00:00:00:40","excludedMacs":["02:00:00:00:00:11-02:00:00:00:00:1f","02:00:00:00:00:21-02:00:00:00:00:2f","02:00:00:00:00:31-02:00:00:00:00:3f"]}'
TWO_POOL='{"rangeStart":"02:00:00:00:00:10","rangeEnd":"02:00:00:00:00:20","excludedMacs":["02:00:00:00:00:11-02:00:00:00:00:1f"]}'

# The bad-input matrix's fixtures (about 70 MB) are made once per run, not committed.
setup_file() {
  BAD="$BATS_FILE_TMPDIR/bad-input"
  export BAD
  PYTHONPATH="$BATS_TEST_DIRNAME/tests" PYTHONDONTWRITEBYTECODE=1 python3 -m kmp.bad_input "$BAD"
}

# kwctl_run ARGS...: `$KWCTL run ARGS`. With KWCTL_REFERENCE set to a second engine (the real
# kwctl beside the test host), runs that one too and fails unless both print the same bytes on
# stdout, exit alike, and end stderr with the same error line when they fail (teardown fails
# the test on any disagreement, whatever the test itself expected).
kwctl_run() {
  local out="$BATS_TEST_TMPDIR/engine.out" err="$BATS_TEST_TMPDIR/engine.err" rc=0
  "$KWCTL" run "$@" >"$out" 2>"$err" || rc=$?
  if [ -n "${KWCTL_REFERENCE:-}" ]; then
    local ref_rc=0
    RUST_BACKTRACE=0 "$KWCTL_REFERENCE" run "$@" >"$out.ref" 2>"$err.ref" || ref_rc=$?
    local last ref_last
    last=$(grep -a '^Error: ' "$err" | tail -n 1 || true)
    ref_last=$(grep -a '^Error: ' "$err.ref" | tail -n 1 || true)
    if ! cmp -s "$out" "$out.ref" || [ "$rc" -ne "$ref_rc" ] || [ "$last" != "$ref_last" ]; then
      {
        echo "engines disagree on: run $*"
        echo "$KWCTL: exit $rc, stdout: $(cat "$out"), error: $last"
        echo "$KWCTL_REFERENCE: exit $ref_rc, stdout: $(cat "$out.ref"), error: $ref_last"
      } | tee -a "$BATS_TEST_TMPDIR/disagreement" >&2
    fi
  fi
  cat "$out"
  cat "$err" >&2
  return "$rc"
}

teardown() {
  if [ -e "$BATS_TEST_TMPDIR/disagreement" ]; then
    cat "$BATS_TEST_TMPDIR/disagreement" >&2
    return 1
  fi
}

# by_kind SESSION SETTINGS_JSON: the sessions recorded for the modes that list by kind
# (session-cluster*.yml and the others not named session-indexed-*) hold the two calls of
# `pods-tracked` and no seed call; a test that names no mode runs them under it, and one that
# names no seed with `seed: e2e`, since the rule it checks depends on neither (and one session
# serves requests that allocate, which read the seed, and requests that do not).
# `inventory: indexed` (the default) and the default seed have their own sessions and tests.
by_kind() {
  if [[ $1 == *session-indexed-* || $1 == *session-seed-* ]]; then
    echo "$2"
  else
    jq -c 'if has("inventory") then . else . + {"inventory": "pods-tracked"} end
      | if has("seed") then . else . + {"seed": "e2e"} end' <<<"$2"
  fi
}

# evaluate REQUEST SESSION [SETTINGS_JSON]: files under test_data/ unless given as paths.
evaluate() {
  local request="$1" session="$2"
  [[ $request == */* ]] || request="test_data/$request"
  [[ $session == */* ]] || session="test_data/$session"
  run --separate-stderr kwctl_run \
    --request-path "$request" \
    --settings-json "$(by_kind "$session" "${3:-{\}}")" \
    --allow-context-aware \
    --replay-host-capabilities-interactions "$session" \
    "$POLICY"
  if [ "$status" -ne 0 ]; then
    echo "exit $status; stderr: $stderr" >&2
    return 1
  fi
}

# settings_error SETTINGS_JSON: the run must fail on the settings; prints what kwctl said.
settings_error() {
  run --separate-stderr kwctl_run \
    --request-path test_data/vm-create.json \
    --settings-json "$1" \
    "$POLICY"
  [ "$status" -ne 0 ]
  echo "$stderr"
}

response() { jq -e "$1" <<<"$output"; }
patch_ops() { jq -r '.patch // empty' <<<"$output" | base64 -d; }
accepted_unchanged() { response '.allowed == true and (has("patch") | not)'; }
rejected_with() {
  response '.allowed == false'
  local message
  message=$(jq -r '.status.message' <<<"$output")
  if [ "$message" != "$1" ]; then
    printf 'expected: %s\nactual:   %s\n' "$1" "$message" >&2
    return 1
  fi
}
warnings_are() { response ".warnings == $1"; }
# jq: `"3f" | span(4)` is "3c-3f": the span of a block (two hex digits) of 4 blocks (VMs) or
# 16 (Pods), as behaviour.md 7.1 writes it; `span_label(4)` its label.
JQ_SPAN='def unhex: ascii_downcase | explode | map(if . >= 97 then . - 87 else . - 48 end) | .[0] * 16 + .[1];
def hex: [("0123456789abcdef" | split(""))[(. / 16 | floor), (. % 16)]] | join("");
def span($width): unhex | ((. / $width | floor) * $width) as $first | "\($first | hex)-\($first + $width - 1 | hex)";
def span_label($width): "mac-blocks.kubemacpool.io/" + span($width);'
patch_is() { patch_ops | jq -e "$JQ_SPAN $1"; }
# The mutated object's labels are the index labels of the MACs the patch writes (VMs: on
# every interface; the fixtures' interfaces are all eligible): a span label per VM span held,
# tracked and indexed (behaviour.md 7.1).
labels_are_index_labels() {
  patch_is '([.[] | select(.path | endswith("/macAddress")) | .value | split(":")[4] | span_label(4)] | unique
      | map({key: ., value: ""}) | from_entries
      | . + {"kubemacpool.io/tracked": "true", "kubemacpool.io/indexed": "v2"}) as $want
    | .[] | select(.path == "/metadata/labels") | .value == $want'
}

# --- Settings (behaviour.md section 2) -------------------------------------------------------

@test "settings: the defaults are valid" {
  evaluate vm-create-no-template.json session-none.yml '{}'
  accepted_unchanged
}

@test "settings: every key set to a valid value is accepted" {
  evaluate vm-create-no-template.json session-none.yml \
    '{"rangeStart":"0A:00:00:00:00:00","rangeEnd":"0a-00-00-ff-ff-ff","excludedMacs":["0a:00:00:00:00:00","0a00.0000.0010-0a00.0000.001f"],"duplicateMacs":"reject","inventory":"tracked","auditDuplicates":"ignore","podShortForm":"ignore","seed":"cluster-east"}'
  accepted_unchanged
}

@test "settings: the README's settings example (test_data/settings-readme.yml) is valid and applied" {
  run --separate-stderr kwctl_run \
    --request-path test_data/vm-create-mac-held-by-vm.json \
    --settings-path test_data/settings-readme.yml \
    --allow-context-aware \
    --replay-host-capabilities-interactions test_data/session-cluster-tracked.yml \
    "$POLICY"
  [ "$status" -eq 0 ]
  # inventory: tracked does not see the unlabelled VM holding this MAC, so reject does not fire.
  response '.allowed == true'
}

@test "settings: a range start that is not a MAC is refused" {
  run settings_error '{"rangeStart":"zz"}'
  [[ "$output" == *"invalid range start: address zz: invalid MAC address"* ]]
}

@test "settings: a range end that is not a MAC is refused" {
  run settings_error '{"rangeEnd":"02:00:00:00:00:00:00:00"}'
  [[ "$output" == *"invalid range end: address 02:00:00:00:00:00:00:00: invalid MAC address"* ]]
}

@test "settings: a multicast range start is refused with Kubemacpool's text" {
  run settings_error '{"rangeStart":"03:00:00:00:00:00","rangeEnd":"04:00:00:00:00:00"}'
  [[ "$output" == *"invalid range start: invalid mac address. Multicast addressing is not supported. Unicast addressing must be used. The first octet is 0X3"* ]]
}

@test "settings: a multicast range end is refused with Kubemacpool's text" {
  run settings_error '{"rangeEnd":"FF:FF:FF:FF:FF:FF"}'
  [[ "$output" == *"invalid range end: invalid mac address. Multicast addressing is not supported. Unicast addressing must be used. The first octet is 0XFF"* ]]
}

@test "settings: a start not below the end is refused" {
  run settings_error '{"rangeStart":"02:00:00:00:00:10","rangeEnd":"02:00:00:00:00:01"}'
  [[ "$output" == *"invalid range. rangeStart: 02:00:00:00:00:10 rangeEnd: 02:00:00:00:00:01"* ]]
}

@test "settings: a bad excludedMacs entry is refused, naming it" {
  run settings_error '{"excludedMacs":["02:00:00:00:00:01","gateway"]}'
  [[ "$output" == *'invalid excludedMacs entry "gateway"'* ]]
}

@test "settings: an unknown duplicateMacs value is refused, naming key and value" {
  run settings_error '{"duplicateMacs":"fail"}'
  [[ "$output" == *'invalid duplicateMacs value "fail": expected one of warn, reject, allow'* ]]
}

@test "settings: an unknown inventory value is refused, naming key and value" {
  run settings_error '{"inventory":"some"}'
  [[ "$output" == *'invalid inventory value "some": expected one of indexed, pods-tracked, all, tracked'* ]]
}

@test "settings: an unknown auditDuplicates value is refused, naming key and value" {
  run settings_error '{"auditDuplicates":"warn"}'
  [[ "$output" == *'invalid auditDuplicates value "warn": expected one of report, ignore'* ]]
}

@test "settings: an unknown podShortForm value is refused, naming key and value" {
  run settings_error '{"podShortForm":"drop"}'
  [[ "$output" == *'invalid podShortForm value "drop": expected one of convert, ignore'* ]]
}

@test "settings: an unknown key is refused, naming it" {
  run settings_error '{"rangestart":"02:00:00:00:00:00"}'
  [[ "$output" == *'unknown field `rangestart`'* ]]
}

# --- VirtualMachines (behaviour.md sections 5 and 6) -----------------------------------------

@test "vm: masquerade on the pod network and bridge on a multus network get MACs, and the index labels" {
  evaluate vm-create.json session-cluster.yml
  response '.allowed == true'
  patch_is "length == 3"
  patch_is '.[] | select(.path == "/metadata/labels") | .op == "add"'
  labels_are_index_labels
  patch_is "[.[] | select(.path | test(\"^/spec/template/spec/domain/devices/interfaces/[01]/macAddress$\")) | .value | test(\"$MAC_RE\")] == [true, true]"
}

@test "vm: an AdmissionReview is read like a bare AdmissionRequest" {
  evaluate vm-create.json session-cluster.yml
  local bare="$output"
  evaluate vm-create-review.json session-cluster.yml
  [ "$output" = "$bare" ]
}

@test "vm: bridge on the pod network gets no MAC, only the indexed label, and no host call is made" {
  evaluate vm-create-bridge-pod-network.json session-none.yml
  patch_is '. == [{"op":"add","path":"/metadata/labels","value":{"kubemacpool.io/indexed":"v2"}}]'
}

@test "vm: bridge and sriov on multus networks get distinct MACs" {
  evaluate vm-create-multus-bridge-sriov.json session-cluster.yml
  patch_is '[.[] | select(.path | endswith("/macAddress")) | .path] == ["/spec/template/spec/domain/devices/interfaces/0/macAddress", "/spec/template/spec/domain/devices/interfaces/1/macAddress"]'
  patch_is '[.[] | select(.path | endswith("/macAddress")) | .value] | unique | length == 2'
}

@test "vm: a user MAC is kept verbatim and not reallocated" {
  evaluate vm-create-user-mac.json session-cluster.yml
  response '.allowed == true and .warnings == null'
  patch_is '. == [{"op":"add","path":"/metadata/labels","value":{"kubemacpool.io/tracked":"true","mac-blocks.kubemacpool.io/a8-ab":"","kubemacpool.io/indexed":"v2"}}]'
}

@test "vm: one MAC on two interfaces, in two spellings, is rejected" {
  evaluate vm-create-duplicate-macs.json session-none.yml
  rejected_with "${CREATE_WRAPPER}duplicate MAC address 02:00:00:00:ff:ff found on interfaces: blue and red"
}

@test "vm: an invalid MAC is rejected" {
  evaluate vm-create-invalid-mac.json session-none.yml
  rejected_with "${CREATE_WRAPPER}invalid MAC address format for interface blue: 02:00:00:00:00: address 02:00:00:00:00: invalid MAC address"
}

@test "vm: duplicate interface names are rejected" {
  evaluate vm-create-duplicate-names.json session-none.yml
  rejected_with "${CREATE_WRAPPER}Failed to mutate virtual machine: every interface must have a unique name"
}

@test "vm: UPDATE rejections carry the update wrapper" {
  evaluate vm-update-duplicate-names.json session-none.yml
  rejected_with "${UPDATE_WRAPPER}Failed to mutate virtual machine: every interface must have a unique name"
}

@test "vm: no template is accepted unchanged" {
  evaluate vm-create-no-template.json session-none.yml
  accepted_unchanged
}

@test "vm: deletionTimestamp set is accepted unchanged" {
  evaluate vm-update-deleting.json session-none.yml
  accepted_unchanged
}

@test "vm: UPDATE re-applying the manifest with its MACs produces no patch" {
  evaluate vm-update-reapply.json session-none.yml
  accepted_unchanged
}

@test "vm: UPDATE without MACs restores every old MAC exactly as written, with no inventory read" {
  evaluate vm-update-restore.json session-none.yml
  patch_is '. == [{"op":"add","path":"/spec/template/spec/domain/devices/interfaces/0/macAddress","value":"02:00:00:00:00:01"},{"op":"add","path":"/spec/template/spec/domain/devices/interfaces/1/macAddress","value":"02-00-00-00-00-02"}]'
}

@test "vm: UPDATE adding an interface allocates only for it" {
  evaluate vm-update-add-interface.json session-cluster.yml
  patch_is "[.[] | select(.path | startswith(\"/spec\"))] | length == 1 and .[0].op == \"add\" and .[0].path == \"/spec/template/spec/domain/devices/interfaces/2/macAddress\" and (.[0].value | test(\"$MAC_RE\"))"
  # Only the new MAC's span label, unless it is span 00-03, which the VM already carries.
  patch_is "[.[] | select(.path | startswith(\"/metadata\")) | .path] - [\"/metadata/labels/mac-blocks.kubemacpool.io~1\" + (.[] | select(.path | endswith(\"/macAddress\")) | .value | split(\":\")[4] | span(4))] == []"
}

@test "vm: UPDATE changing a MAC keeps the user's value" {
  evaluate vm-update-change-mac.json session-cluster.yml
  accepted_unchanged
}

@test "vm: MACs held by other VMs and pods are never handed out" {
  evaluate vm-create-one-nic.json session-cluster.yml "$FOUR_POOL"
  patch_is '.[] | select(.path == "/spec/template/spec/domain/devices/interfaces/0/macAddress") | .value == "02:00:00:00:00:30"'
}

@test "vm: excludedMacs are never handed out" {
  evaluate vm-create-one-nic.json session-empty.yml \
    '{"rangeStart":"02:00:00:00:00:00","rangeEnd":"02:00:00:00:00:0f","excludedMacs":["02:00:00:00:00:00-02:00:00:00:00:0e"]}'
  patch_is '.[] | select(.path == "/spec/template/spec/domain/devices/interfaces/0/macAddress") | .value == "02:00:00:00:00:0f"'
}

@test "vm: a two-address pool with both used is the range is full" {
  evaluate vm-create-one-nic.json session-cluster.yml "$TWO_POOL"
  rejected_with "${CREATE_WRAPPER}the range is full"
}

@test "vm: a range crossing into 03: never yields a multicast address" {
  evaluate vm-create-four-nics.json session-empty.yml '{"rangeStart":"02:ff:ff:ff:ff:fe","rangeEnd":"04:00:00:00:00:01"}'
  patch_is '[.[] | select(.path | endswith("/macAddress")) | .value] | sort == ["02:ff:ff:ff:ff:fe","02:ff:ff:ff:ff:ff","04:00:00:00:00:00","04:00:00:00:00:01"]'
}

@test "vm: the same request with the inventory listed in another order gives a byte-identical answer" {
  evaluate vm-create.json session-cluster.yml '{"seed":"e2e"}'
  local first="$output"
  evaluate vm-create.json session-cluster-shuffled.yml '{"seed":"e2e"}'
  [ "$output" = "$first" ]
}

@test "vm: the seed changes the MACs chosen" {
  evaluate vm-create.json session-cluster.yml '{"seed":"cluster-a"}'
  local a
  a=$(patch_ops)
  evaluate vm-create.json session-cluster.yml '{"seed":"cluster-b"}'
  [ "$(patch_ops)" != "$a" ]
}

@test "vm: dry-run requests get the same answer" {
  evaluate vm-create.json session-cluster.yml
  local plain
  plain=$(patch_ops)
  evaluate vm-create-dry-run.json session-cluster.yml
  [ "$(patch_ops)" = "$plain" ]
}

@test "vm: warn accepts a MAC held by another VM with a warning naming it" {
  evaluate vm-create-mac-held-by-vm.json session-cluster.yml '{"duplicateMacs":"warn"}'
  response '.allowed == true'
  warnings_are '["MAC address 02:00:00:00:00:50 requested for interface blue is already used by VirtualMachine legacy/old-vm"]'
}

@test "vm: warn accepts a MAC held by a pod with a warning naming it" {
  evaluate vm-create-mac-held-by-pod.json session-cluster.yml
  warnings_are '["MAC address 02:00:00:00:00:40 requested for interface blue is already used by Pod default/net-tool"]'
}

@test "vm: reject refuses a MAC held by another VM" {
  evaluate vm-create-mac-held-by-vm.json session-cluster.yml '{"duplicateMacs":"reject"}'
  rejected_with "${CREATE_WRAPPER}failed to allocate requested mac address: 02:00:00:00:00:50 is used by VirtualMachine legacy/old-vm"
}

@test "vm: reject refuses a MAC held by a pod" {
  evaluate vm-create-mac-held-by-pod.json session-cluster.yml '{"duplicateMacs":"reject"}'
  rejected_with "${CREATE_WRAPPER}failed to allocate requested mac address: 02:00:00:00:00:40 is used by Pod default/net-tool"
}

@test "vm: allow accepts a MAC held elsewhere silently, without reading the inventory" {
  evaluate vm-create-mac-held-by-vm.json session-none.yml '{"duplicateMacs":"allow"}'
  response '.allowed == true and .warnings == null'
}

@test "vm: the VM's own launcher pod holding its MAC is no duplicate" {
  evaluate vm-update-own-launcher.json session-cluster.yml '{"duplicateMacs":"reject"}'
  accepted_unchanged
  evaluate vm-update-own-launcher.json session-cluster.yml '{"duplicateMacs":"warn"}'
  response '.warnings == null'
}

@test "vm: tracked mode sends the label selector and sees only labelled objects" {
  # legacy/old-vm holds 02:00:00:00:00:50 but is not labelled: tracked mode does not see it.
  evaluate vm-create-mac-held-by-vm.json session-cluster-tracked.yml '{"inventory":"tracked","duplicateMacs":"reject"}'
  response '.allowed == true'
}

# --- Inventory modes (behaviour.md section 7) --------------------------------------------------
# The sample cluster's unlabelled objects: VM legacy/old-vm (.50) and its launcher pod, which holds
# .50 too, and the standalone pod legacy/old-pod (.60). A pool of .50 and .60 only:
FIFTY_SIXTY='{"rangeStart":"02:00:00:00:00:50","rangeEnd":"02:00:00:00:00:60","excludedMacs":["02:00:00:00:00:51-02:00:00:00:00:5f"]}'

@test "inventory: pods-tracked lists every VM and only labelled pods" {
  # session-cluster.yml records the default's calls: VMs without a selector, Pods with it.
  evaluate vm-create-one-nic.json session-cluster.yml "$FIFTY_SIXTY"
  # .50 is avoided through the VM old-vm (its unlabelled launcher pod is not listed); .60, held by
  # the unlabelled standalone pod old-pod, is not seen, as documented.
  patch_is '[.[] | select(.path | endswith("/macAddress")) | .value] == ["02:00:00:00:00:60"]'
}

@test "inventory: pods-tracked sees a labelled standalone pod's MAC" {
  evaluate vm-create-mac-held-by-pod.json session-cluster.yml '{"duplicateMacs":"reject"}'
  rejected_with "${CREATE_WRAPPER}failed to allocate requested mac address: 02:00:00:00:00:40 is used by Pod default/net-tool"
}

@test "inventory: pods-tracked does not see an unlabelled standalone pod's MAC" {
  evaluate vm-create-mac-held-by-old-pod.json session-cluster.yml '{"duplicateMacs":"reject"}'
  response '.allowed == true and .warnings == null'
}

@test "inventory: all lists every pod, so an unlabelled pod's MAC is seen" {
  evaluate vm-create-mac-held-by-old-pod.json session-cluster-all.yml '{"inventory":"all","duplicateMacs":"reject"}'
  rejected_with "${CREATE_WRAPPER}failed to allocate requested mac address: 02:00:00:00:00:60 is used by Pod legacy/old-pod"
  evaluate vm-create-one-nic.json session-cluster-all.yml "$(jq -c '. + {inventory: "all"}' <<<"$FIFTY_SIXTY")"
  rejected_with "${CREATE_WRAPPER}the range is full"
}

@test "vm: a host error on the VM list rejects, naming the call" {
  evaluate vm-create.json session-vm-list-error.yml
  response '.allowed == false'
  response '.status.message | startswith("Failed to create virtual machine allocation error: Failed to allocate mac to the vm object: cannot build the MAC inventory: host call list_resources_all kubevirt.io/v1 VirtualMachine failed:")'
  response '.status.message | contains("virtualmachines.kubevirt.io is forbidden")'
}

@test "vm: a host error on the Pod list rejects, naming the call" {
  evaluate vm-create.json session-pod-list-error.yml
  response '.status.message | contains("cannot build the MAC inventory: host call list_resources_all v1 Pod with label selector kubemacpool.io/tracked=true failed:")'
  response '.status.message | contains("connection refused")'
}

@test "vm: DELETE passes through untouched" {
  evaluate vm-delete.json session-none.yml
  accepted_unchanged
}

@test "other kinds pass through untouched" {
  evaluate deployment-create.json session-none.yml
  accepted_unchanged
}

# --- Pods (behaviour.md section 4) -----------------------------------------------------------

@test "pod: MACs are added to every network of the JSON annotation, and the index labels" {
  evaluate pod-create.json session-cluster.yml
  response '.allowed == true'
  patch_is '[.[] | .path] | sort == ["/metadata/annotations/k8s.v1.cni.cncf.io~1networks", "/metadata/labels"]'
  patch_is '([.[] | select(.path | endswith("networks")) | .value | fromjson | .[].mac | split(":")[4] | span_label(16)] | unique
      | map({key: ., value: ""}) | from_entries
      | . + {"kubemacpool.io/tracked": "true", "kubemacpool.io/indexed": "v2"}) as $want
    | .[] | select(.path == "/metadata/labels") | .value == $want'
  patch_is "[.[] | select(.path | endswith(\"networks\")) | .value | fromjson | .[] | .mac | test(\"$MAC_RE\")] == [true, true]"
}

@test "pod: no annotation is accepted unchanged" {
  evaluate pod-no-annotation.json session-none.yml
  accepted_unchanged
}

@test "pod: network-status present is accepted unchanged" {
  evaluate pod-network-status.json session-none.yml
  accepted_unchanged
}

@test "pod: the empty value is rejected" {
  evaluate pod-empty-annotation.json session-none.yml
  rejected_with 'parsePodNetworkAnnotation: pod annotation not having "network" as key, refer Multus README.md for the usage guide'
}

@test "pod: the short form is converted, with namespace and interface" {
  evaluate pod-short-form.json session-cluster.yml
  patch_is '[.[] | select(.path | endswith("networks")) | .value | fromjson | .[] | del(.mac)] == [{"name":"blue-net","namespace":"team","interface":"net1"},{"name":"red-net"}]'
}

@test "pod: the short form is ignored with podShortForm ignore" {
  evaluate pod-short-form.json session-none.yml '{"podShortForm":"ignore"}'
  accepted_unchanged
}

@test "pod: a malformed short form is rejected, quoting the element" {
  evaluate pod-short-form-malformed.json session-none.yml
  rejected_with 'parsePodNetworkAnnotation: invalid network selection element "a/b/c": more than one "/"'
}

@test "pod: JSON with and without mac on several networks" {
  evaluate pod-json-mixed.json session-cluster.yml
  patch_is '[.[] | select(.path | endswith("networks")) | .value | fromjson | .[] | .mac] as $m | $m[0] == "02:00:00:00:00:aa" and ($m | unique | length) == 3'
}

@test "pod: unknown keys and key order are preserved byte for byte except the added mac" {
  evaluate pod-unknown-keys.json session-cluster.yml "$FOUR_POOL"
  patch_is '.[] | select(.path | endswith("networks")) | .value == "[{\"interface\":\"net1\",\"name\":\"blue-net\",\"ipam-claim-reference\":\"claim-1\",\"cni-args\":{\"vlan\":100},\"namespace\":\"default\",\"mac\":\"02:00:00:00:00:30\"}]"'
}

@test "pod: ips as a string is rejected" {
  evaluate pod-ips-string.json session-none.yml
  rejected_with 'parsePodNetworkAnnotation: failed to parse pod Network Attachment Selection Annotation JSON format: element 0: "ips" must be an array of strings'
}

@test "pod: an invalid mac is rejected" {
  evaluate pod-invalid-mac.json session-none.yml
  rejected_with 'address 02:00:00:00:00:0g: invalid MAC address'
}

@test "pod: a MAC held by a VM is avoided" {
  evaluate pod-one-network.json session-cluster.yml "$FOUR_POOL"
  patch_is '.[] | select(.path | endswith("networks")) | .value == "[{\"name\":\"blue-net\",\"mac\":\"02:00:00:00:00:30\"}]"'
}

@test "pod: a requested MAC held by a VM warns under warn" {
  evaluate pod-mac-held-by-vm.json session-cluster.yml
  response '.allowed == true'
  warnings_are '["MAC address 02:00:00:00:00:50 requested for network blue-net is already used by VirtualMachine legacy/old-vm"]'
}

@test "pod: a requested MAC held by a VM is rejected under reject" {
  evaluate pod-mac-held-by-vm.json session-cluster.yml '{"duplicateMacs":"reject"}'
  rejected_with 'failed to allocate requested mac address: 02:00:00:00:00:50 is used by VirtualMachine legacy/old-vm'
}

@test "pod: a requested MAC held by a VM is accepted silently under allow" {
  evaluate pod-mac-held-by-vm.json session-none.yml '{"duplicateMacs":"allow"}'
  response '.allowed == true and .warnings == null'
}

@test "pod: the launcher pod of an existing VM is untouched" {
  evaluate pod-launcher-of-vm.json session-launcher-vm-exists.yml
  accepted_unchanged
}

@test "pod: the launcher pod of a standalone VMI is allocated" {
  evaluate pod-launcher-standalone.json session-launcher-standalone.yml
  patch_is "[.[] | select(.path | endswith(\"networks\")) | .value | fromjson | .[0].mac | test(\"$MAC_RE\")] == [true]"
}

@test "pod: a host error on the VM lookup leaves the launcher pod untouched" {
  evaluate pod-launcher-of-vm.json session-launcher-lookup-error.yml
  accepted_unchanged
}

@test "pod: dry-run gets the same answer" {
  evaluate pod-one-network.json session-cluster.yml
  local plain
  plain=$(patch_ops)
  evaluate pod-dry-run.json session-cluster.yml
  [ "$(patch_ops)" = "$plain" ]
}

@test "pod: generateName pods get distinct MACs for distinct uids and the same MAC for the same uid" {
  evaluate pod-generate-name-a.json session-cluster.yml
  local a1
  a1=$(patch_ops)
  evaluate pod-generate-name-a.json session-cluster.yml
  [ "$(patch_ops)" = "$a1" ]
  evaluate pod-generate-name-b.json session-cluster.yml
  [ "$(patch_ops)" != "$a1" ]
}

@test "pod: a full pool gives the range is full" {
  evaluate pod-one-network.json session-cluster.yml "$TWO_POOL"
  rejected_with 'the range is full'
}

@test "pod: an UPDATE that keeps the networks value of an untracked pod passes unchanged" {
  evaluate pod-update.json session-none.yml
  accepted_unchanged
}

# --- Pod UPDATE: the annotation keeps its MACs (behaviour.md 4.1) ---------------------------
# The stored pod default/net-client holds 02:00:00:00:00:a1 (blue-net, written by the policy) and
# 02-00-00-00-00-B2 (red-net, as its user wrote it).
HELD_NETWORKS='[{"name":"blue-net","namespace":"default","interface":"net1","mac":"02:00:00:00:00:a1"},{"name":"red-net","mac":"02-00-00-00-00-B2"}]'

@test "pod update: re-applying the manifest restores every MAC as written, with no host call, in every mode" {
  for mode in indexed pods-tracked all tracked; do
    evaluate pod-update-reapply.json session-none.yml "{\"inventory\":\"$mode\"}"
    patch_is "[.[] | .path] == [\"/metadata/annotations/k8s.v1.cni.cncf.io~1networks\"]"
    patch_is ".[0].value == $(jq -Rc . <<<"$HELD_NETWORKS")"
  done
}

@test "pod update: a hotplugged network gets a fresh MAC and the others keep theirs" {
  evaluate pod-update-hotplug.json session-cluster.yml
  patch_is '[.[] | select(.path | endswith("networks")) | .value | fromjson | .[] | .mac] as $m
    | $m[0:2] == ["02:00:00:00:00:a1", "02-00-00-00-00-B2"]
      and ($m[2] | IN("02:00:00:00:00:a1", "02:00:00:00:00:b2", "02:00:00:00:00:10", "02:00:00:00:00:20", "02:00:00:00:00:40", "02:00:00:00:00:50") | not)'
  patch_is "[.[] | select(.path | endswith(\"networks\")) | .value | fromjson | .[2].mac | test(\"$MAC_RE\")] == [true]"
}

@test "pod update: under indexed a hotplug lists only the spans of the pod's block and the legacy lists, and its labels follow" {
  # The session records the seed, the spans of the pod's block, then the legacy lists: any other
  # call fails the run. The pod already holds MACs of Pod span 00-0f.
  local selectors vm_span pod_span
  selectors=$(session_selectors session-indexed-pod-update-hotplug.yml)
  vm_span=$(cut -d' ' -f1 <<<"$selectors" | cut -d/ -f2)
  pod_span=$(cut -d' ' -f2 <<<"$selectors" | cut -d/ -f2)
  evaluate pod-update-hotplug.json session-indexed-pod-update-hotplug.yml
  patch_is "[.[] | select(.path | endswith(\"networks\")) | .value | fromjson | .[2].mac | split(\":\")[4] | [span(4), span(16)]] == [[\"$vm_span\", \"$pod_span\"]]"
  if [ "$pod_span" = 00-0f ]; then
    patch_is '[.[] | select(.path | startswith("/metadata/labels"))] == []'
  else
    patch_is "[.[] | select(.path | startswith(\"/metadata/labels\"))] == [{\"op\":\"add\",\"path\":\"/metadata/labels/mac-blocks.kubemacpool.io~1$pod_span\",\"value\":\"\"}]"
  fi
}

@test "pod update: a changed MAC held by a VM warns under warn, and the value stays as written" {
  evaluate pod-update-change-mac.json session-cluster.yml
  response '.allowed == true and (has("patch") | not)'
  warnings_are '["MAC address 02:00:00:00:00:50 requested for network red-net is already used by VirtualMachine legacy/old-vm"]'
}

@test "pod update: a changed MAC held by a VM is rejected under reject" {
  evaluate pod-update-change-mac.json session-cluster.yml '{"duplicateMacs":"reject"}'
  rejected_with 'failed to allocate requested mac address: 02:00:00:00:00:50 is used by VirtualMachine legacy/old-vm'
}

@test "pod update: the launcher pod of an existing VM is untouched" {
  evaluate pod-update-launcher-of-vm.json session-launcher-vm-exists.yml
  accepted_unchanged
}

@test "pod update: the launcher pod of a standalone VMI gets its MAC back after the VM lookup" {
  evaluate pod-update-launcher-standalone.json session-launcher-standalone-lookup.yml
  patch_is '[.[] | select(.path | endswith("networks")) | .value] == ["[{\"name\":\"blue-net\",\"namespace\":\"prod\",\"mac\":\"02:00:00:00:00:c3\"}]"]'
}

@test "host calls are refused without --allow-context-aware, and the policy fails closed" {
  run --separate-stderr kwctl_run --request-path test_data/vm-create.json "$POLICY"
  [ "$status" -eq 0 ]
  response '.allowed == false'
  # An admission with a blank to fill reads the seed first (the default `seed: ""`).
  rejected_with "${CREATE_WRAPPER}cannot derive the allocation seed: host call get_resource v1 Namespace kube-system failed: Host error: Policy has not been granted access to Kubernetes v1/Namespace resources. The violation has been reported."
  # With a seed given, the default inventory (indexed) makes its object's VM span list first.
  run --separate-stderr kwctl_run --request-path test_data/vm-create.json --settings-json '{"seed":"e2e"}' "$POLICY"
  response '.status.message | test("cannot build the MAC inventory: host call list_resources_all kubevirt.io/v1 VirtualMachine with label selector mac-blocks.kubemacpool.io/[0-9a-f]{2}-[0-9a-f]{2} failed: Host error: Policy has not been granted access to Kubernetes kubevirt.io/v1/VirtualMachine resources. The violation has been reported.$")'
}

# --- Audit re-evaluations (behaviour.md section 10) ------------------------------------------
# Requests as Kubewarden's audit scanner sends them: CREATE of the stored object, uid = its uid.

@test "audit: a VM sharing a MAC with a pod fails, naming the pod" {
  evaluate audit-vm-clash.json session-cluster.yml
  response '.status.code == 409 and (has("patch") | not)'
  rejected_with 'MAC collision: 02:00:00:00:00:70 on interface blue is also held by Pod default/clash-pod'
}

@test "audit: the pod sharing that MAC fails too, naming the VM" {
  evaluate audit-pod-clash.json session-cluster.yml
  response '.status.code == 409'
  rejected_with 'MAC collision: 02:00:00:00:00:70 on network blue-net is also held by VirtualMachine default/clash-vm'
}

@test "audit: a VM whose MACs nobody else holds passes, without a patch" {
  evaluate audit-vm-alone.json session-cluster.yml
  accepted_unchanged
}

@test "audit: a VM whose own launcher pod holds its MAC passes" {
  evaluate audit-vm-own-launcher.json session-cluster.yml
  accepted_unchanged
}

@test "audit: a launcher pod whose VM exists passes; the VM's audit reports for both" {
  evaluate audit-pod-launcher.json session-launcher-vm-exists.yml
  accepted_unchanged
}

@test "audit: a VM without MACs passes, never allocates, and reads no inventory" {
  evaluate audit-vm-no-macs.json session-none.yml
  accepted_unchanged
}

@test "audit: the default settings admit a duplicate with a warning, then the audit fails it" {
  evaluate vm-create-mac-held-by-pod.json session-cluster.yml
  response '.allowed == true and (.warnings | length) == 1'
  evaluate audit-vm-clash.json session-cluster.yml
  response '.allowed == false'
}

@test "audit: the audit settings of docs/operations.md (test_data/settings-audit.yml) admit with a warning and report in audits" {
  run --separate-stderr kwctl_run --request-path test_data/vm-create-mac-held-by-pod.json \
    --settings-path test_data/settings-audit.yml --allow-context-aware \
    --replay-host-capabilities-interactions test_data/session-indexed-block-00.yml "$POLICY"
  [ "$status" -eq 0 ]
  response '.allowed == true and (.warnings | length) == 1'
  run --separate-stderr kwctl_run --request-path test_data/audit-pod-clash.json \
    --settings-path test_data/settings-audit.yml --allow-context-aware \
    --replay-host-capabilities-interactions test_data/session-indexed-block-00.yml "$POLICY"
  [ "$status" -eq 0 ]
  rejected_with 'MAC collision: 02:00:00:00:00:70 on network blue-net is also held by VirtualMachine default/clash-vm'
}

@test "audit: auditDuplicates ignore answers the audit as an admission (warn: accepted with a warning)" {
  evaluate audit-vm-clash.json session-cluster.yml '{"auditDuplicates":"ignore"}'
  # As an admission it also writes the index labels the stored VM lacks (no MAC changes).
  response '.allowed == true'
  patch_is 'all(.[]; .path | startswith("/metadata/labels"))'
  warnings_are '["MAC address 02:00:00:00:00:70 requested for interface blue is already used by Pod default/clash-pod"]'
}

@test "audit: a host error while auditing fails closed, naming the call" {
  evaluate audit-vm-clash.json session-pod-list-error.yml
  response '.allowed == false and .status.code == 500'
  response '.status.message | contains("cannot build the MAC inventory: host call list_resources_all v1 Pod with label selector kubemacpool.io/tracked=true failed:")'
}

# --- inventory: indexed, the default (behaviour.md 7.1) --------------------------------------
# The session-indexed-* sessions hold the calls of 7.1 for their request, as the policy's core made
# them on the sample cluster (tests/kmp/fixtures.py, xtask record); the tests below check
# their order against the spec, and replay fails
# on any call the policy makes out of that order. The cluster is the sample cluster right after
# an upgrade (nothing indexed), plus default/new-vm (.80) and default/new-pod (.90) indexed in
# block 00 (VM span 00-03, Pod span 00-0f), and default/misfiled-vm (.85) whose span label names
# 7c-7f. An admission with a blank to fill first reads the seed, the kube-system Namespace.

# session_selectors SESSION: the label selectors of its calls, in order.
session_selectors() { grep -o 'label_selector: .*' "test_data/$1" | cut -d' ' -f2 | paste -sd' '; }

@test "indexed: a VM CREATE reads the seed, lists its block's VM and Pod spans, then the objects not indexed yet, and its MACs land in that block" {
  local selectors vm_span pod_span
  selectors=$(session_selectors session-indexed-vm-create.yml)
  vm_span=$(cut -d' ' -f1 <<<"$selectors" | cut -d/ -f2)
  pod_span=$(cut -d' ' -f2 <<<"$selectors" | cut -d/ -f2)
  [ "$selectors" = "mac-blocks.kubemacpool.io/$vm_span mac-blocks.kubemacpool.io/$pod_span kubemacpool.io/indexed!=v2 kubemacpool.io/tracked=true,kubemacpool.io/indexed!=v2" ]
  [ "$(grep -m 1 -A 3 'request: |' test_data/session-indexed-vm-create.yml | tr -d ' ' | paste -sd' ')" = "request:| !KubernetesGetResource api_version:v1 kind:Namespace" ]
  evaluate vm-create.json session-indexed-vm-create.yml
  response '.allowed == true'
  patch_is "[.[] | select(.path | endswith(\"/macAddress\")) | .value | split(\":\")[4]] | (.[0] == .[1]) and (map([span(4), span(16)]) == [[\"$vm_span\", \"$pod_span\"], [\"$vm_span\", \"$pod_span\"]])"
  labels_are_index_labels
}

@test "indexed: a Pod CREATE's MACs land in its block and it carries its Pod span label" {
  local selectors vm_span pod_span
  selectors=$(session_selectors session-indexed-pod-create.yml)
  vm_span=$(cut -d' ' -f1 <<<"$selectors" | cut -d/ -f2)
  pod_span=$(cut -d' ' -f2 <<<"$selectors" | cut -d/ -f2)
  evaluate pod-create.json session-indexed-pod-create.yml
  patch_is "[.[] | select(.path | endswith(\"networks\")) | .value | fromjson | .[].mac | split(\":\")[4]] | (.[0] == .[1]) and (map([span(4), span(16)]) == [[\"$vm_span\", \"$pod_span\"], [\"$vm_span\", \"$pod_span\"]])"
  patch_is ".[] | select(.path == \"/metadata/labels\") | .value == {\"kubemacpool.io/tracked\":\"true\",\"mac-blocks.kubemacpool.io/$pod_span\":\"\",\"kubemacpool.io/indexed\":\"v2\"}"
}

@test "indexed: a requested MAC is checked against its block's objects and the legacy lists" {
  for case in "legacy-vm:VirtualMachine legacy/old-vm:02:00:00:00:00:50" "indexed-vm:VirtualMachine default/new-vm:02:00:00:00:00:80" \
    "indexed-pod:Pod default/new-pod:02:00:00:00:00:90" "legacy-pod:Pod default/net-tool:02:00:00:00:00:40"; do
    local target="${case%%:*}" rest="${case#*:}"
    local owner="${rest%%:*}" mac="${rest#*:}"
    evaluate "vm-create-mac-held-by-$target.json" session-indexed-block-00.yml '{"duplicateMacs":"reject"}'
    rejected_with "${CREATE_WRAPPER}failed to allocate requested mac address: $mac is used by $owner"
  done
}

@test "indexed: a MAC held by an object labelled with another span is not seen, and its audit reports the hole" {
  evaluate vm-create-mac-held-by-misfiled-vm.json session-indexed-block-00.yml '{"duplicateMacs":"reject"}'
  response '.allowed == true and .warnings == null'
  evaluate audit-vm-misfiled.json session-indexed-block-00.yml
  rejected_with 'index hole: MAC 02:00:00:00:00:85 on interface blue is hidden from admissions: label mac-blocks.kubemacpool.io/00-03 is missing; re-apply the VirtualMachine to repair it: kubectl annotate vm misfiled-vm -n default kubemacpool.io/reindex="$(date +%s)" --overwrite'
  response '.status.code == 409'
}

@test "indexed: a tracked Pod UPDATE gets its v2 labels, stale and v1 ones removed, without a host call" {
  evaluate pod-update-reindex.json session-none.yml
  patch_is 'map(.path) | sort == ["/metadata/labels/kubemacpool.io~1indexed", "/metadata/labels/mac-block.kubemacpool.io~13f", "/metadata/labels/mac-blocks.kubemacpool.io~100-0f", "/metadata/labels/mac-blocks.kubemacpool.io~130-3f"]'
  patch_is '.[] | select(.path == "/metadata/labels/kubemacpool.io~1indexed") | .op == "replace" and .value == "v2"'
  patch_is '.[] | select(.path == "/metadata/labels/mac-block.kubemacpool.io~13f") | .op == "remove"'
  patch_is '.[] | select(.path == "/metadata/labels/mac-blocks.kubemacpool.io~100-0f") | .op == "remove"'
  patch_is '.[] | select(.path == "/metadata/labels/mac-blocks.kubemacpool.io~130-3f") | .op == "add" and .value == ""'
}

@test "indexed: an untracked Pod UPDATE passes unchanged" {
  evaluate pod-update-untracked.json session-none.yml
  accepted_unchanged
}

@test "indexed: a VM re-apply makes no list call and replaces a stale span label" {
  evaluate vm-update-stale-block.json session-none.yml
  patch_is 'map(.path) | sort == ["/metadata/labels/kubemacpool.io~1indexed", "/metadata/labels/mac-blocks.kubemacpool.io~100-03", "/metadata/labels/mac-blocks.kubemacpool.io~17c-7f"]'
  patch_is '.[] | select(.path == "/metadata/labels/mac-blocks.kubemacpool.io~17c-7f") | .op == "remove"'
}

@test "indexed: the object's block full moves the search to the next block, its new span listed after the legacy lists" {
  # Blocks 10 and 14: VM spans 10-13 and 14-17, one Pod span 10-1f, listed once.
  local selectors own next
  selectors=$(session_selectors session-indexed-own-block-full.yml)
  own=$(cut -d' ' -f1 <<<"$selectors" | cut -d/ -f2)
  next=$([ "$own" = 10-13 ] && echo 14-17 || echo 10-13)
  [ "$selectors" = "mac-blocks.kubemacpool.io/$own mac-blocks.kubemacpool.io/10-1f kubemacpool.io/indexed!=v2 kubemacpool.io/tracked=true,kubemacpool.io/indexed!=v2 mac-blocks.kubemacpool.io/$next" ]
  evaluate vm-create-one-nic.json session-indexed-own-block-full.yml "$(cat test_data/settings-two-blocks.json)"
  patch_is ".[] | select(.path | endswith(\"/macAddress\")) | .value | test(\"^02:00:00:00:1[04]:0[01]$\") and (split(\":\")[4] | span(4)) == \"$next\""
}

@test "indexed: every block full is the range is full" {
  evaluate vm-create-one-nic.json session-indexed-every-block-full.yml "$(cat test_data/settings-two-blocks.json)"
  rejected_with "${CREATE_WRAPPER}the range is full"
}

# --- KubeVirt workflows (behaviour.md sections 3 and 6) ---------------------------------------

@test "seed: by default the cluster's kube-system uid seeds the hash, read once before the lists" {
  evaluate vm-create.json session-indexed-vm-create.yml
  local own="$output"
  [ "$(grep -c '!KubernetesGetResource' test_data/session-indexed-vm-create.yml)" -eq 1 ]
  # The same uid given as `seed` gives the same answer without the call (its session has none).
  [ "$(grep -c '!KubernetesGetResource' test_data/session-indexed-vm-create-seeded.yml)" -eq 0 ]
  local uid
  uid=$(grep -o '"uid":"[^"]*"' test_data/session-indexed-vm-create.yml | head -1 | cut -d'"' -f4)
  [ -n "$uid" ]
  evaluate vm-create.json session-indexed-vm-create-seeded.yml "{\"seed\":\"$uid\"}"
  [ "$output" = "$own" ]
}

@test "seed: another cluster (another kube-system uid) gives the same VM other MACs" {
  evaluate vm-create.json session-indexed-vm-create.yml
  local own
  own=$(patch_ops | jq -c '[.[] | select(.path | endswith("/macAddress")) | .value]')
  evaluate vm-create.json session-indexed-vm-create-other-cluster.yml
  response '.allowed == true'
  patch_is "[.[] | select(.path | endswith(\"/macAddress\")) | .value] != $own"
}

@test "seed: no kube-system Namespace fails closed, naming the call" {
  evaluate vm-create.json session-seed-missing.yml
  rejected_with "${CREATE_WRAPPER}cannot derive the allocation seed: host call get_resource v1 Namespace kube-system failed: Host error: Callback evaluation failure: Cannot find v1/Namespace named 'kube-system' inside of namespace 'None'"
  response '.status.code == 500'
}

@test "reserved: 02:00:00:00:00:00 is never allocated, even where the range starts" {
  evaluate vm-create-one-nic.json session-empty.yml '{"rangeStart":"02:00:00:00:00:00","rangeEnd":"02:00:00:00:00:01"}'
  patch_is '[.[] | select(.path | endswith("/macAddress")) | .value] == ["02:00:00:00:00:01"]'
  # With .01 excluded nothing is left: the reserved address is not handed out instead.
  evaluate vm-create-one-nic.json session-empty.yml '{"rangeStart":"02:00:00:00:00:00","rangeEnd":"02:00:00:00:00:01","excludedMacs":["02:00:00:00:00:01"]}'
  rejected_with "${CREATE_WRAPPER}the range is full"
}

@test "receiver: a WaitAsReceiver VM keeps its source's MAC under reject, without a warning or a host call" {
  evaluate vm-create-receiver.json session-none.yml '{"duplicateMacs":"reject"}'
  response '.allowed == true and .warnings == null and .auditAnnotations == null'
  # The same MAC on a VM of another run strategy is rejected (vm-create-mac-held-by-pod.json: .40).
  evaluate vm-create-mac-held-by-pod.json session-cluster.yml '{"duplicateMacs":"reject"}'
  response '.allowed == false'
}

@test "audit annotation: a duplicate accepted under warn is also the duplicate-mac audit annotation" {
  evaluate vm-create-mac-held-by-pod.json session-cluster.yml
  response '.allowed == true and (.warnings | length) == 1'
  response '.auditAnnotations == {"duplicate-mac": (.warnings | join("; "))}'
  evaluate vm-create-user-mac.json session-cluster.yml
  response '.auditAnnotations == null'
}

# --- Bad input (issue 7): a clear message or a correct answer, never a crash ------------------
# Fixtures: tests/kmp/bad_input.py, run by setup_file into $BAD.

@test "bad input: malformed JSON in the annotation is rejected with the parser's position" {
  evaluate "$BAD/pod-malformed-json.json" "$BAD/session-none.yml"
  rejected_with 'parsePodNetworkAnnotation: failed to parse pod Network Attachment Selection Annotation JSON format: trailing comma at line 1 column 14'
}

@test "bad input: a non-string network name is rejected, naming the element" {
  evaluate "$BAD/pod-non-string-name.json" "$BAD/session-none.yml"
  response '.allowed == false'
  response '.status.message | endswith("element 0: \"name\" must be a string")'
}

@test "bad input: a 10 MB annotation is kept byte for byte and gets a MAC" {
  evaluate "$BAD/pod-10mb-annotation.json" "$BAD/session-empty.yml"
  patch_is '.[] | select(.path == "/metadata/annotations/k8s.v1.cni.cncf.io~1networks") | .value | fromjson
    | (.[0].blob | length) == 10485760 and (.[0].mac | test("^[0-9a-f]{2}(:[0-9a-f]{2}){5}$"))'
}

@test "bad input: 10,000 networks in one pod get 10,000 distinct MACs" {
  evaluate "$BAD/pod-10000-networks.json" "$BAD/session-empty.yml"
  patch_is '.[] | select(.path == "/metadata/annotations/k8s.v1.cni.cncf.io~1networks") | .value | fromjson
    | length == 10000 and ([.[].mac] | unique | length) == 10000'
}

@test "bad input: 1,000 interfaces in one VM get 1,000 distinct MACs" {
  evaluate "$BAD/vm-1000-interfaces.json" "$BAD/session-empty.yml"
  patch_is '[.[] | select(.path | endswith("/macAddress")) | .value] | length == 1000 and (unique | length) == 1000'
}

@test "bad input: non-ASCII and control characters are kept exactly" {
  evaluate "$BAD/pod-odd-characters.json" "$BAD/session-empty.yml"
  patch_is '.[] | select(.path == "/metadata/annotations/k8s.v1.cni.cncf.io~1networks") | .value | fromjson
    | .[0].name == "blüe\u0007net" and .[0].interface == "éth1" and .[0].x == "\u0000" and (.[0].mac | length) == 17'
  evaluate "$BAD/pod-odd-short-form.json" "$BAD/session-empty.yml"
  patch_is '.[] | select(.path == "/metadata/annotations/k8s.v1.cni.cncf.io~1networks") | .value | fromjson
    | map(.name) == ["blüe", "a\u0007b"] and .[0].interface == "éth1"'
}

@test "bad input: MACs with wrong lengths and separators are rejected, quoting them" {
  local bad_macs bad_mac_index bad
  mapfile -t bad_macs <"$BAD/bad-macs.txt"
  [ "${#bad_macs[@]}" -eq 6 ]
  # bats' `run` sets a global `i`, so the loop counts with another name.
  for bad_mac_index in "${!bad_macs[@]}"; do
    bad=${bad_macs[$bad_mac_index]}
    evaluate "$BAD/vm-bad-mac-$bad_mac_index.json" "$BAD/session-none.yml"
    rejected_with "${CREATE_WRAPPER}invalid MAC address format for interface a: $bad: address $bad: invalid MAC address"
  done
}

@test "bad input: inventory items with missing or wrong-typed fields are skipped, the sound ones still count" {
  # Pool .10 .20 .30: .10 and .20 are held by sound items; broken items naming .30 hold nothing.
  evaluate "$BAD/vm-three-pool.json" "$BAD/session-broken-items.yml" \
    '{"rangeStart":"02:00:00:00:00:10","rangeEnd":"02:00:00:00:00:30","excludedMacs":["02:00:00:00:00:11-02:00:00:00:00:1f","02:00:00:00:00:21-02:00:00:00:00:2f"]}'
  patch_is '.[] | select(.path | endswith("/macAddress")) | .value == "02:00:00:00:00:30"'
}

@test "bad input: a host error on the Pod list fails a pod closed, naming the call" {
  evaluate pod-one-network.json session-pod-list-error.yml
  response '.allowed == false'
  response '.status.message | startswith("cannot build the MAC inventory: host call list_resources_all v1 Pod with label selector kubemacpool.io/tracked=true failed: ")'
}

@test "bad input: 1,000,000 used MACs in a 2^20 pool: the one free address is found" {
  evaluate "$BAD/vm-three-pool.json" "$BAD/session-million.yml" "$(cat "$BAD/million-settings.json")"
  patch_is ".[] | select(.path | endswith(\"/macAddress\")) | .value == \"$(cat "$BAD/million-free.txt")\""
}
