//! behaviour.md 7.1, `inventory: indexed` (the default), against a cluster that evaluates label
//! selectors as the API server does: the span lists and their order, the labels written, what
//! is seen and what is not (objects indexed by `v1` among them), allocation inside one block and
//! across blocks, Pod UPDATE, and the audit's index holes in every mode.

use crate::common::{
    NETWORKS, iface, macs_of_vm, multus_net, pod, pod_net, review, run, span, span_label,
    two_nic_vm, vm,
};
use kubemacpool_policy::protocol::allocation_hash;
use kubemacpool_policy::testing::{CLUSTER_UID, MemoryCluster};
use kubewarden_policy_sdk::response::ValidationResponse;
use serde_json::{Value, json};

const LEGACY_VMS: &str = "VirtualMachine kubemacpool.io/indexed!=v2";
const LEGACY_PODS: &str = "Pod kubemacpool.io/tracked=true,kubemacpool.io/indexed!=v2";
const UID: &str = "705ab4f5-6393-11e8-b7cc-42010a800002";

fn vm_label(block: &str) -> String {
    span_label("VirtualMachine", block)
}

fn pod_label(block: &str) -> String {
    span_label("Pod", block)
}

/// The span queries of `blocks` in the order given: the VM span, then the Pod span, of each,
/// each query once.
fn span_lists(blocks: &[&str]) -> Vec<String> {
    let mut calls: Vec<String> = Vec::new();
    for block in blocks {
        for call in [
            format!("VirtualMachine {}", vm_label(block)),
            format!("Pod {}", pod_label(block)),
        ] {
            if !calls.contains(&call) {
                calls.push(call);
            }
        }
    }
    calls
}

fn with_legacy_lists(mut calls: Vec<String>) -> Vec<String> {
    calls.extend([LEGACY_VMS.to_string(), LEGACY_PODS.to_string()]);
    calls
}

/// The block the policy picks for an object in the default range (all 256 blocks hold pool
/// addresses): `hash(seed, kind, namespace, name) mod 256`, the seed being the cluster's
/// `kube-system` uid.
fn object_block(kind: &str, namespace: &str, name: &str) -> String {
    format!(
        "{:02x}",
        allocation_hash(&[CLUSTER_UID, kind, namespace, name]) % 256
    )
}

fn labels(object: &Value) -> Value {
    object["metadata"]["labels"].clone()
}

fn block_of(mac: &str) -> String {
    mac.replace('-', ":")
        .split(':')
        .nth(4)
        .unwrap()
        .to_lowercase()
}

/// A stored VM holding `mac` on a Multus interface, with `labels`.
fn holder_vm(name: &str, mac: &str, labels: Value) -> Value {
    let mut object = vm(
        "other",
        name,
        vec![iface("blue", "bridge", Some(mac))],
        vec![multus_net("blue")],
    );
    object["metadata"]["labels"] = labels;
    object
}

fn holder_pod(name: &str, mac: &str, labels: Value) -> Value {
    let mut object = pod(
        "other",
        name,
        Some(&format!(r#"[{{"name":"blue-net","mac":"{mac}"}}]"#)),
        None,
    );
    object["metadata"]["labels"] = labels;
    object
}

fn mutated(response: &ValidationResponse) -> &Value {
    assert!(response.accepted, "rejected: {:?}", response.message);
    response.mutated_object.as_ref().expect("a mutated object")
}

#[test]
fn a_vm_create_lists_its_blocks_spans_then_the_objects_not_indexed_yet() {
    let cluster = MemoryCluster::default();
    let response = run(
        &review(
            "VirtualMachine",
            "CREATE",
            &two_nic_vm("vm1"),
            None,
            json!({}),
        ),
        &cluster,
    );
    let block = object_block("VirtualMachine", "default", "vm1");
    assert_eq!(
        cluster.list_calls(),
        with_legacy_lists(span_lists(&[&block]))
    );
    // Every call keeps section 7's field masks.
    for call in cluster.calls() {
        if let kubemacpool_policy::testing::Call::ListAll {
            kind, field_masks, ..
        } = call
        {
            let expected: Vec<&str> = match kind.as_str() {
                "VirtualMachine" => vec![
                    "metadata",
                    "spec.template.spec.domain.devices.interfaces",
                    "spec.template.spec.networks",
                ],
                _ => vec!["metadata"],
            };
            assert_eq!(field_masks, expected);
        }
    }
    // All blanks of the object land in its block.
    let macs = macs_of_vm(mutated(&response));
    assert_eq!(macs.len(), 2);
    assert!(
        macs.iter().all(|m| block_of(m) == block),
        "{macs:?} not in {block}"
    );
}

#[test]
fn an_admitted_vm_carries_the_index_labels_of_its_macs() {
    let object = vm(
        "default",
        "vm1",
        vec![
            iface("default", "masquerade", None),
            iface("blue", "bridge", Some("02:00:00:00:3f:01")),
            // Not eligible: its MAC is not held, so it has no span label.
            iface("pod2", "bridge", Some("02:00:00:00:4a:01")),
        ],
        vec![pod_net("default"), multus_net("blue"), pod_net("pod2")],
    );
    let response = run(
        &review("VirtualMachine", "CREATE", &object, None, json!({})),
        &MemoryCluster::default(),
    );
    let result = mutated(&response);
    let allocated = block_of(&macs_of_vm(result)[0]);
    let mut expected = json!({
        "kubemacpool.io/tracked": "true",
        "kubemacpool.io/indexed": "v2",
        "mac-blocks.kubemacpool.io/3c-3f": ""
    });
    expected[vm_label(&allocated)] = json!("");
    assert_eq!(labels(result), expected);
}

#[test]
fn the_spans_of_requested_macs_and_the_objects_block_are_listed_by_ascending_block_once_each() {
    let object = vm(
        "default",
        "vm1",
        vec![
            iface("default", "masquerade", None),
            iface("blue", "bridge", Some("02:00:00:00:fe:01")),
            iface("red", "bridge", Some("02:00:00:00:01:01")),
        ],
        vec![pod_net("default"), multus_net("blue"), multus_net("red")],
    );
    let cluster = MemoryCluster::default();
    run(
        &review("VirtualMachine", "CREATE", &object, None, json!({})),
        &cluster,
    );
    let own = object_block("VirtualMachine", "default", "vm1");
    let mut blocks = vec!["01", "fe", own.as_str()];
    blocks.sort();
    assert_eq!(cluster.list_calls(), with_legacy_lists(span_lists(&blocks)));
}

#[test]
fn under_duplicate_macs_allow_a_requested_mac_needs_no_list() {
    let object = vm(
        "default",
        "vm1",
        vec![iface("blue", "bridge", Some("02:00:00:00:fe:01"))],
        vec![multus_net("blue")],
    );
    let cluster = MemoryCluster::default();
    let response = run(
        &review(
            "VirtualMachine",
            "CREATE",
            &object,
            None,
            json!({"duplicateMacs": "allow"}),
        ),
        &cluster,
    );
    assert!(cluster.list_calls().is_empty());
    assert_eq!(labels(mutated(&response))[vm_label("fe")], json!(""));
}

#[test]
fn a_reapply_makes_no_list_call_and_writes_only_missing_labels() {
    let mut stored = vm(
        "default",
        "vm1",
        vec![iface("blue", "bridge", Some("02:00:00:00:fe:01"))],
        vec![multus_net("blue")],
    );
    let mut reapplied = stored.clone();
    reapplied["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][0]
        .as_object_mut()
        .unwrap()
        .remove("macAddress");
    let cluster = MemoryCluster::default();
    let response = run(
        &review(
            "VirtualMachine",
            "UPDATE",
            &reapplied,
            Some(&stored),
            json!({}),
        ),
        &cluster,
    );
    assert!(cluster.list_calls().is_empty());
    let result = mutated(&response);
    assert_eq!(macs_of_vm(result), vec!["02:00:00:00:fe:01"]);
    assert_eq!(
        labels(result),
        json!({"kubemacpool.io/tracked": "true", "mac-blocks.kubemacpool.io/fc-ff": "", "kubemacpool.io/indexed": "v2"})
    );
    // With its labels right, the same UPDATE of the same object is no patch at all.
    stored["metadata"]["labels"] = labels(result);
    let response = run(
        &review(
            "VirtualMachine",
            "UPDATE",
            &stored,
            Some(&stored),
            json!({}),
        ),
        &cluster,
    );
    assert!(response.accepted);
    assert_eq!(response.mutated_object, None);
}

#[test]
fn a_vm_update_makes_v1_labels_v2_and_removes_stale_span_labels() {
    let mut stored = vm(
        "default",
        "vm1",
        vec![iface("blue", "bridge", Some("02:00:00:00:fe:01"))],
        vec![multus_net("blue")],
    );
    stored["metadata"]["labels"] = json!({
        "app": "db",
        "kubemacpool.io/tracked": "true",
        // As the previous index wrote them.
        "kubemacpool.io/indexed": "v1",
        "mac-block.kubemacpool.io/fe": "",
        // Another span, a Pod span, a spelling the policy never writes.
        "mac-blocks.kubemacpool.io/04-07": "",
        "mac-blocks.kubemacpool.io/f0-ff": "",
        "mac-blocks.kubemacpool.io/FC-FF": ""
    });
    let response = run(
        &review(
            "VirtualMachine",
            "UPDATE",
            &stored,
            Some(&stored),
            json!({}),
        ),
        &MemoryCluster::default(),
    );
    assert_eq!(
        labels(mutated(&response)),
        json!({"app": "db", "kubemacpool.io/tracked": "true", "kubemacpool.io/indexed": "v2", "mac-blocks.kubemacpool.io/fc-ff": ""})
    );
}

#[test]
fn a_mac_held_by_an_object_of_another_span_is_not_seen() {
    // A correctly indexed VM holding a MAC of block 01 (span 00-03) is in no list of a request
    // that needs only block fe: the request's answer is the same with or without it.
    let object = vm(
        "default",
        "vm1",
        vec![iface("blue", "bridge", Some("02:00:00:00:fe:01"))],
        vec![multus_net("blue")],
    );
    let other = holder_vm(
        "elsewhere",
        "02:00:00:00:01:01",
        json!({"kubemacpool.io/tracked": "true", "kubemacpool.io/indexed": "v2", "mac-blocks.kubemacpool.io/00-03": ""}),
    );
    let with = MemoryCluster::new(vec![other], vec![]);
    let payload = review("VirtualMachine", "CREATE", &object, None, json!({}));
    let seen = run(&payload, &with);
    assert_eq!(
        serde_json::to_string(&seen).unwrap(),
        serde_json::to_string(&run(&payload, &MemoryCluster::default())).unwrap()
    );
    assert!(!with.list_calls().iter().any(|c| c.contains("/00-03")));
}

#[test]
fn legacy_and_v1_indexed_vms_and_tracked_pods_are_seen_unlabelled_pods_are_not() {
    let object = vm(
        "default",
        "vm1",
        vec![
            iface("a", "bridge", Some("02:00:00:00:fe:01")),
            iface("b", "bridge", Some("02:00:00:00:fe:02")),
            iface("c", "bridge", Some("02:00:00:00:fe:03")),
            iface("d", "bridge", Some("02:00:00:00:fe:04")),
            iface("e", "bridge", Some("02:00:00:00:fe:05")),
        ],
        vec![
            multus_net("a"),
            multus_net("b"),
            multus_net("c"),
            multus_net("d"),
            multus_net("e"),
        ],
    );
    // As the previous index (`v1`) labelled them: block labels, which no v2 list selects.
    let v1 = json!({"kubemacpool.io/tracked": "true", "kubemacpool.io/indexed": "v1", "mac-block.kubemacpool.io/fe": ""});
    let cluster = MemoryCluster::new(
        vec![
            // Created before the policy: no labels at all.
            holder_vm("legacy-vm", "02:00:00:00:fe:01", json!({})),
            holder_vm("v1-vm", "02:00:00:00:fe:04", v1.clone()),
        ],
        vec![
            holder_pod("v1-pod", "02:00:00:00:fe:05", v1),
            // Labelled by an older version or the adoption step: tracked, not indexed.
            holder_pod(
                "legacy-pod",
                "02:00:00:00:fe:02",
                json!({"kubemacpool.io/tracked": "true"}),
            ),
            // Neither label: not seen, as in pods-tracked.
            holder_pod("unlabelled-pod", "02:00:00:00:fe:03", json!({})),
        ],
    );
    let response = run(
        &review("VirtualMachine", "CREATE", &object, None, json!({})),
        &cluster,
    );
    assert_eq!(
        response.warnings.unwrap_or_default(),
        vec![
            "MAC address 02:00:00:00:fe:01 requested for interface a is already used by VirtualMachine other/legacy-vm",
            "MAC address 02:00:00:00:fe:02 requested for interface b is already used by Pod other/legacy-pod",
            "MAC address 02:00:00:00:fe:04 requested for interface d is already used by VirtualMachine other/v1-vm",
            "MAC address 02:00:00:00:fe:05 requested for interface e is already used by Pod other/v1-pod",
        ]
    );
}

#[test]
fn an_indexed_holder_of_a_requested_mac_is_found_through_its_span_label() {
    let object = vm(
        "default",
        "vm1",
        vec![iface("a", "bridge", Some("02:00:00:00:fe:01"))],
        vec![multus_net("a")],
    );
    let cluster = MemoryCluster::new(
        vec![holder_vm(
            "indexed-vm",
            "02:00:00:00:fe:01",
            json!({"kubemacpool.io/tracked": "true", "kubemacpool.io/indexed": "v2", "mac-blocks.kubemacpool.io/fc-ff": ""}),
        )],
        vec![],
    );
    let response = run(
        &review(
            "VirtualMachine",
            "CREATE",
            &object,
            None,
            json!({"duplicateMacs": "reject"}),
        ),
        &cluster,
    );
    assert_eq!(
        response.message.as_deref(),
        Some(
            "Failed to create virtual machine allocation error: Failed to allocate mac to the vm object: failed to allocate requested mac address: 02:00:00:00:fe:01 is used by VirtualMachine other/indexed-vm"
        )
    );
}

/// A pool of one block, 02:00:00:00:3f:00-03 (four addresses).
fn one_block_pool() -> Value {
    json!({"rangeStart": "02:00:00:00:3f:00", "rangeEnd": "02:00:00:00:3f:03"})
}

#[test]
fn a_pool_inside_one_block_lists_only_that_blocks_spans() {
    let cluster = MemoryCluster::default();
    let response = run(
        &review(
            "VirtualMachine",
            "CREATE",
            &two_nic_vm("vm1"),
            None,
            one_block_pool(),
        ),
        &cluster,
    );
    assert_eq!(cluster.list_calls(), with_legacy_lists(span_lists(&["3f"])));
    let macs = macs_of_vm(mutated(&response));
    assert!(
        macs.iter().all(|m| m.starts_with("02:00:00:00:3f:0")),
        "{macs:?}"
    );
}

/// Two blocks of two addresses each: 02:00:00:00:<first>:00-01 and 02:00:00:00:<second>:00-01.
fn two_block_pool(first: &str, second: &str) -> Value {
    let before_second = u8::from_str_radix(second, 16).unwrap() - 1;
    json!({
        "rangeStart": format!("02:00:00:00:{first}:00"),
        "rangeEnd": format!("02:00:00:00:{second}:01"),
        "excludedMacs": [format!("02:00:00:00:{first}:02-02:00:00:00:{before_second:02x}:ff")]
    })
}

fn block_holders(block: &str) -> Vec<Value> {
    ["00", "01"]
        .iter()
        .map(|low| {
            holder_vm(
                &format!("full-{block}-{low}"),
                &format!("02:00:00:00:{block}:{low}"),
                json!({"kubemacpool.io/tracked": "true", "kubemacpool.io/indexed": "v2", vm_label(block): ""}),
            )
        })
        .collect()
}

fn single_nic_vm() -> Value {
    vm(
        "default",
        "vm1",
        vec![iface("default", "masquerade", None)],
        vec![pod_net("default")],
    )
}

/// With both blocks free, the block the object's hash picks and the other one.
fn own_and_next_block(pool: &Value) -> (String, String) {
    let response = run(
        &review(
            "VirtualMachine",
            "CREATE",
            &single_nic_vm(),
            None,
            pool.clone(),
        ),
        &MemoryCluster::default(),
    );
    let own = block_of(&macs_of_vm(mutated(&response))[0]);
    let blocks = [&pool["rangeStart"], &pool["rangeEnd"]].map(|m| block_of(m.as_str().unwrap()));
    let next = blocks.iter().find(|b| **b != own).unwrap().clone();
    (own, next)
}

#[test]
fn a_full_block_moves_the_search_to_the_next_block_listing_its_spans_not_made_yet() {
    // Blocks 10 and 14: VM spans 10-13 and 14-17, one Pod span 10-1f. Blocks 10 and 11: one
    // VM span and one Pod span, so moving makes no new call.
    for (first, second, new_calls) in [("10", "14", 1), ("10", "11", 0)] {
        let pool = two_block_pool(first, second);
        let (own, next) = own_and_next_block(&pool);
        let cluster = MemoryCluster::new(block_holders(&own), vec![]);
        let response = run(
            &review("VirtualMachine", "CREATE", &single_nic_vm(), None, pool),
            &cluster,
        );
        let mut expected = with_legacy_lists(span_lists(&[&own]));
        let moved = span_lists(&[&own, &next]).split_off(span_lists(&[&own]).len());
        assert_eq!(moved.len(), new_calls, "{moved:?}");
        expected.extend(moved);
        assert_eq!(cluster.list_calls(), expected);
        assert_eq!(block_of(&macs_of_vm(mutated(&response))[0]), next);
    }
}

#[test]
fn every_block_full_is_the_range_is_full() {
    let mut vms = block_holders("10");
    vms.extend(block_holders("14"));
    let cluster = MemoryCluster::new(vms, vec![]);
    let response = run(
        &review(
            "VirtualMachine",
            "CREATE",
            &single_nic_vm(),
            None,
            two_block_pool("10", "14"),
        ),
        &cluster,
    );
    assert_eq!(
        response.message.as_deref(),
        Some(
            "Failed to create virtual machine allocation error: Failed to allocate mac to the vm object: the range is full"
        )
    );
    // Both blocks' spans and the legacy lists, each query once.
    let mut calls = cluster.list_calls();
    calls.sort();
    let mut expected = with_legacy_lists(span_lists(&["10", "14"]));
    expected.sort();
    assert_eq!(calls, expected);
}

#[test]
fn an_empty_pool_with_blanks_is_the_range_is_full_without_a_list_call_or_the_seed() {
    let settings = json!({
        "rangeStart": "02:00:00:00:00:00", "rangeEnd": "02:00:00:00:00:01",
        "excludedMacs": ["02:00:00:00:00:00-02:00:00:00:00:01"]
    });
    let cluster = MemoryCluster::default();
    let response = run(
        &review(
            "VirtualMachine",
            "CREATE",
            &two_nic_vm("vm1"),
            None,
            settings,
        ),
        &cluster,
    );
    assert!(response.message.unwrap().ends_with("the range is full"));
    assert!(cluster.list_calls().is_empty());
    assert!(cluster.calls().is_empty(), "nor the seed's get_resource");
}

#[test]
fn the_blanks_of_a_pod_land_in_its_block_and_it_carries_its_pod_span_label() {
    let object = pod(
        "default",
        "p1",
        Some(r#"[{"name":"blue-net"},{"name":"red-net"}]"#),
        None,
    );
    let cluster = MemoryCluster::default();
    let response = run(&review("Pod", "CREATE", &object, None, json!({})), &cluster);
    let block = object_block("Pod", "default", "p1");
    let result = mutated(&response);
    let networks: Value = serde_json::from_str(
        result["metadata"]["annotations"][NETWORKS]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let macs: Vec<&str> = networks
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["mac"].as_str().unwrap())
        .collect();
    assert!(macs.iter().all(|m| block_of(m) == block));
    assert_eq!(
        labels(result),
        json!({"app": "demo", "kubemacpool.io/tracked": "true", pod_label(&block): "", "kubemacpool.io/indexed": "v2"})
    );
    assert_eq!(cluster.list_calls()[..2], span_lists(&[&block]));
}

fn pod_update(object: &Value) -> (ValidationResponse, MemoryCluster) {
    let cluster = MemoryCluster::default();
    let response = run(
        &review("Pod", "UPDATE", object, Some(object), json!({})),
        &cluster,
    );
    (response, cluster)
}

#[test]
fn a_tracked_pod_update_gets_its_index_labels_and_nothing_else_without_a_host_call() {
    let mut object = holder_pod(
        "p1",
        "02:00:00:00:fe:01",
        json!({"kubemacpool.io/tracked": "true", "kubemacpool.io/indexed": "v1", "mac-block.kubemacpool.io/fe": "", "mac-blocks.kubemacpool.io/00-0f": ""}),
    );
    object["metadata"]["annotations"]["kubemacpool.io/reindex"] = json!("2026-12-01T10:00:00Z");
    let (response, cluster) = pod_update(&object);
    assert!(cluster.calls().is_empty());
    let result = mutated(&response);
    assert_eq!(
        labels(result),
        json!({"kubemacpool.io/tracked": "true", "kubemacpool.io/indexed": "v2", "mac-blocks.kubemacpool.io/f0-ff": ""})
    );
    let mut rest = result.clone();
    rest["metadata"]["labels"] = object["metadata"]["labels"].clone();
    assert_eq!(rest, object, "only labels change");
}

#[test]
fn an_untracked_pod_update_and_a_launcher_pod_update_pass_unchanged() {
    let (response, cluster) = pod_update(&holder_pod("p1", "02:00:00:00:fe:01", json!({})));
    assert!(response.accepted && response.mutated_object.is_none());
    assert!(cluster.calls().is_empty());
    let launcher = pod(
        "other",
        "virt-launcher-x",
        Some(r#"[{"name":"blue-net","mac":"02:00:00:00:fe:01"}]"#),
        Some("x"),
    );
    let (response, _) = pod_update(&launcher);
    assert!(response.accepted && response.mutated_object.is_none());
}

#[test]
fn a_tracked_pod_whose_annotation_holds_nothing_loses_its_span_labels_keeps_tracked() {
    let object = holder_pod(
        "p1",
        "not-a-mac",
        json!({"kubemacpool.io/tracked": "true", "kubemacpool.io/indexed": "v2", "mac-blocks.kubemacpool.io/f0-ff": "", "mac-block.kubemacpool.io/fe": ""}),
    );
    let (response, _) = pod_update(&object);
    assert_eq!(
        labels(mutated(&response)),
        json!({"kubemacpool.io/tracked": "true", "kubemacpool.io/indexed": "v2"})
    );
}

#[test]
fn pod_update_repairs_labels_in_every_mode() {
    for mode in ["indexed", "pods-tracked", "all", "tracked"] {
        let object = holder_pod(
            "p1",
            "02:00:00:00:fe:01",
            json!({"kubemacpool.io/tracked": "true"}),
        );
        let cluster = MemoryCluster::default();
        let response = run(
            &review(
                "Pod",
                "UPDATE",
                &object,
                Some(&object),
                json!({"inventory": mode}),
            ),
            &cluster,
        );
        assert_eq!(
            labels(mutated(&response))[pod_label("fe")],
            json!(""),
            "{mode}"
        );
        assert!(cluster.calls().is_empty());
    }
}

// --- Audits: index holes (behaviour.md section 10) -------------------------------------

fn audit(object: &Value, settings: Value) -> (ValidationResponse, MemoryCluster) {
    let mut stored = object.clone();
    stored["metadata"]["uid"] = json!(UID);
    let kind = if object["kind"] == "Pod" {
        "Pod"
    } else {
        "VirtualMachine"
    };
    let cluster = MemoryCluster::default();
    let response = run(&review(kind, "CREATE", &stored, None, settings), &cluster);
    (response, cluster)
}

/// A VM indexed as v2 with a MAC of block fe.
const INDEXED_FE: &str = r#"{"kubemacpool.io/tracked":"true","kubemacpool.io/indexed":"v2","mac-blocks.kubemacpool.io/fc-ff":""}"#;

fn labelled(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn an_indexed_vm_missing_its_span_label_is_an_index_hole() {
    let vm = holder_vm(
        "hole",
        "02:00:00:00:fe:01",
        // A Pod span and a v1 block label do not cover a VM's MAC.
        json!({"kubemacpool.io/tracked": "true", "kubemacpool.io/indexed": "v2", "mac-blocks.kubemacpool.io/f0-ff": "", "mac-block.kubemacpool.io/fe": ""}),
    );
    let (response, cluster) = audit(&vm, json!({}));
    assert_eq!(response.code, Some(409));
    assert_eq!(
        response.message.as_deref(),
        Some(
            "index hole: MAC 02:00:00:00:fe:01 on interface blue is hidden from admissions: label mac-blocks.kubemacpool.io/fc-ff is missing; re-apply the VirtualMachine to repair it: kubectl annotate vm hole -n other kubemacpool.io/reindex=\"$(date +%s)\" --overwrite"
        )
    );
    assert_eq!(cluster.list_calls()[..2], span_lists(&["fe"]));
}

#[test]
fn objects_in_a_legacy_list_or_with_their_span_label_are_no_hole() {
    for vm in [
        holder_vm("legacy", "02:00:00:00:fe:01", json!({})),
        // Indexed by v1: in the legacy list until re-indexed.
        holder_vm(
            "v1",
            "02:00:00:00:fe:01",
            json!({"kubemacpool.io/tracked": "true", "kubemacpool.io/indexed": "v1", "mac-block.kubemacpool.io/fe": ""}),
        ),
        holder_vm("right", "02:00:00:00:fe:01", labelled(INDEXED_FE)),
        // Extra labels are never a hole.
        holder_vm(
            "extra",
            "02:00:00:00:fe:01",
            json!({"kubemacpool.io/tracked": "true", "kubemacpool.io/indexed": "v2", "mac-blocks.kubemacpool.io/fc-ff": "", "mac-blocks.kubemacpool.io/00-03": ""}),
        ),
    ] {
        let (response, _) = audit(&vm, json!({}));
        assert!(response.accepted, "{:?}", response.message);
    }
    let (response, _) = audit(
        &holder_pod(
            "legacy",
            "02:00:00:00:fe:01",
            json!({"kubemacpool.io/tracked": "true"}),
        ),
        json!({}),
    );
    assert!(response.accepted, "{:?}", response.message);
}

#[test]
fn a_pod_without_tracked_and_without_its_span_label_is_a_hole_under_indexed() {
    let (response, _) = audit(&holder_pod("p", "02:00:00:00:fe:01", json!({})), json!({}));
    assert_eq!(
        response.message.as_deref(),
        Some(
            "index hole: MAC 02:00:00:00:fe:01 on network blue-net is hidden from admissions: label mac-blocks.kubemacpool.io/f0-ff is missing; label the Pod with kubemacpool.io/tracked=true to repair it: kubectl label pod p -n other kubemacpool.io/tracked=true"
        )
    );
}

#[test]
fn a_tracked_indexed_pod_missing_its_span_label_is_repaired_by_an_annotation() {
    // Labelling it `tracked` again would change nothing and send no UPDATE the policy can act on.
    let pod = holder_pod(
        "p",
        "02:00:00:00:fe:01",
        json!({"kubemacpool.io/tracked": "true", "kubemacpool.io/indexed": "v2"}),
    );
    let (response, _) = audit(&pod, json!({}));
    assert_eq!(
        response.message.as_deref(),
        Some(
            "index hole: MAC 02:00:00:00:fe:01 on network blue-net is hidden from admissions: label mac-blocks.kubemacpool.io/f0-ff is missing; re-apply the Pod to repair it: kubectl annotate pod p -n other kubemacpool.io/reindex=\"$(date +%s)\" --overwrite"
        )
    );
}

#[test]
fn holes_under_the_modes_that_list_by_kind_are_missing_tracked_labels() {
    let untracked_pod = holder_pod("p", "02:00:00:00:fe:01", json!({}));
    let untracked_vm = holder_vm("v", "02:00:00:00:fe:01", json!({}));
    let hole = |object: &Value, mode: &str| {
        let (response, _) = audit(object, json!({"inventory": mode}));
        response
            .message
            .is_some_and(|m| m.contains("label kubemacpool.io/tracked is missing"))
    };
    assert!(hole(&untracked_pod, "pods-tracked"));
    assert!(!hole(&untracked_vm, "pods-tracked"));
    assert!(hole(&untracked_pod, "tracked"));
    assert!(hole(&untracked_vm, "tracked"));
    assert!(!hole(&untracked_pod, "all"));
    assert!(!hole(&untracked_vm, "all"));
}

#[test]
fn a_collision_and_a_hole_share_one_message() {
    let object = holder_vm(
        "hole",
        "02:00:00:00:fe:01",
        json!({"kubemacpool.io/indexed": "v2"}),
    );
    let mut stored = object.clone();
    stored["metadata"]["uid"] = json!(UID);
    let cluster = MemoryCluster::new(
        vec![
            stored.clone(),
            holder_vm("twin", "02:00:00:00:fe:01", labelled(INDEXED_FE)),
        ],
        vec![],
    );
    let response = run(
        &review("VirtualMachine", "CREATE", &stored, None, json!({})),
        &cluster,
    );
    let message = response.message.unwrap();
    assert!(message.contains("MAC collision: 02:00:00:00:fe:01 on interface blue is also held by VirtualMachine other/twin; index hole: "), "{message}");
}

// --- Property: on random clusters with random labels ---------------------------------------

mod property {
    use super::*;
    use proptest::prelude::*;

    /// Three blocks of four pool addresses each, 10, 14 and 20: VM spans 10-13, 14-17 and
    /// 20-23, Pod spans 10-1f and 20-2f. Collisions are forced.
    const BLOCKS: [&str; 3] = ["10", "14", "20"];

    fn settings() -> Value {
        json!({
            "rangeStart": "02:00:00:00:10:00", "rangeEnd": "02:00:00:00:20:ff",
            "excludedMacs": [
                "02:00:00:00:10:04-02:00:00:00:13:ff",
                "02:00:00:00:14:04-02:00:00:00:1f:ff",
                "02:00:00:00:20:04-02:00:00:00:20:ff"
            ]
        })
    }

    fn pool_mac(index: u8) -> String {
        format!(
            "02:00:00:00:{}:{:02x}",
            BLOCKS[usize::from(index / 4 % 3)],
            index % 4
        )
    }

    #[derive(Debug, Clone)]
    struct HolderSpec {
        pod: bool,
        mac: u8,
        tracked: bool,
        /// 0: no `indexed` label, 1: `v2`, 2: `v1` (the previous index), 3: another value.
        indexed: u8,
        /// 0: no index label; 1: its own span; 2: the span of block 14 (its kind's); 3: its
        /// block's span of the other kind; 4: its block's `v1` block label.
        span_label: u8,
    }

    fn holder_spec() -> impl Strategy<Value = HolderSpec> {
        (any::<bool>(), 0..12u8, any::<bool>(), 0..4u8, 0..5u8).prop_map(
            |(pod, mac, tracked, indexed, span_label)| HolderSpec {
                pod,
                mac,
                tracked,
                indexed,
                span_label,
            },
        )
    }

    fn kind(spec: &HolderSpec) -> (&'static str, &'static str) {
        match spec.pod {
            true => ("Pod", "VirtualMachine"),
            false => ("VirtualMachine", "Pod"),
        }
    }

    fn object(index: usize, spec: &HolderSpec) -> Value {
        let mac = pool_mac(spec.mac);
        let block = block_of(&mac);
        let (own, other) = kind(spec);
        let mut labels = serde_json::Map::new();
        if spec.tracked {
            labels.insert("kubemacpool.io/tracked".into(), json!("true"));
        }
        match spec.indexed {
            1 => drop(labels.insert("kubemacpool.io/indexed".into(), json!("v2"))),
            2 => drop(labels.insert("kubemacpool.io/indexed".into(), json!("v1"))),
            3 => drop(labels.insert("kubemacpool.io/indexed".into(), json!("v0"))),
            _ => {}
        }
        let key = match spec.span_label {
            1 => Some(span(own, &block)),
            2 => Some(span(own, "14")),
            3 => Some(span(other, &block)),
            4 => Some(format!("mac-block.kubemacpool.io/{block}")),
            _ => None,
        };
        if let Some(key) = key {
            let key = match key.starts_with("mac-block.") {
                true => key,
                false => format!("mac-blocks.kubemacpool.io/{key}"),
            };
            labels.insert(key, json!(""));
        }
        let name = format!("h{index}");
        match spec.pod {
            true => holder_pod(&name, &mac, Value::Object(labels)),
            false => holder_vm(&name, &mac, Value::Object(labels)),
        }
    }

    /// Whether the holder carries a span label that a list of some block selects.
    fn listed_by_a_span(spec: &HolderSpec) -> bool {
        matches!(spec.span_label, 1 | 2)
    }

    /// Whether an admission under `indexed` must see the holder (7.1): through the span label
    /// of its MAC's block, or in a legacy list.
    fn must_see(spec: &HolderSpec) -> bool {
        let block = block_of(&pool_mac(spec.mac));
        let own = kind(spec).0;
        let own_label =
            spec.span_label == 1 || (spec.span_label == 2 && span(own, "14") == span(own, &block));
        let legacy = match spec.pod {
            false => spec.indexed != 1,
            true => spec.tracked && spec.indexed != 1,
        };
        own_label || legacy
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn indexed_never_hands_out_a_mac_an_object_it_must_see_holds(
            holders in proptest::collection::vec(holder_spec(), 0..14),
            blanks in 1..4usize,
            name in "[a-z]{1,6}",
        ) {
            let vms: Vec<Value> = holders.iter().enumerate().filter(|(_, s)| !s.pod).map(|(i, s)| object(i, s)).collect();
            let pods: Vec<Value> = holders.iter().enumerate().filter(|(_, s)| s.pod).map(|(i, s)| object(i, s)).collect();
            let names = ["a", "b", "c"];
            let object = vm(
                "default",
                &name,
                names[..blanks].iter().map(|n| iface(n, "bridge", None)).collect(),
                names[..blanks].iter().map(|n| multus_net(n)).collect(),
            );
            let cluster = MemoryCluster::new(vms, pods);
            // `run` also checks that the reversed cluster gives the same answer.
            let response = run(&review("VirtualMachine", "CREATE", &object, None, settings()), &cluster);
            let seen: std::collections::BTreeSet<String> = holders
                .iter()
                .filter(|s| must_see(s))
                .map(|s| pool_mac(s.mac))
                .collect();
            if !response.accepted {
                prop_assert!(response.message.as_deref().unwrap_or("").ends_with("the range is full"));
                // Full only if what it may see, once every block is listed, leaves fewer free
                // addresses than blanks: what it must see, and any object with a span label.
                let visible: std::collections::BTreeSet<String> = holders
                    .iter()
                    .filter(|s| must_see(s) || listed_by_a_span(s))
                    .map(|s| pool_mac(s.mac))
                    .collect();
                prop_assert!(12 - visible.len() < blanks, "full with {} visible", visible.len());
                return Ok(());
            }
            let macs = macs_of_vm(response.mutated_object.as_ref().unwrap());
            prop_assert_eq!(macs.len(), blanks);
            let distinct: std::collections::BTreeSet<&String> = macs.iter().collect();
            prop_assert_eq!(distinct.len(), blanks);
            for mac in &macs {
                prop_assert!(!seen.contains(mac), "{} is held by an object it must see", mac);
                let low: u8 = u8::from_str_radix(&mac[15..], 16).unwrap();
                prop_assert!(low < 4 && BLOCKS.contains(&block_of(mac).as_str()), "{} outside the pool", mac);
            }
        }
    }
}

#[test]
fn a_request_needing_every_block_makes_82_queries_once_each() {
    // 7.1: 64 VM spans + 16 Pod spans + the 2 legacy lists bound the watches of a policy-server.
    let names: Vec<String> = (0..=255u8).map(|b| format!("n{b:02x}")).collect();
    let object = vm(
        "default",
        "vm1",
        names
            .iter()
            .map(|n| iface(n, "bridge", Some(&format!("02:00:00:00:{}:01", &n[1..]))))
            .collect(),
        names.iter().map(|n| multus_net(n)).collect(),
    );
    let cluster = MemoryCluster::default();
    run(
        &review("VirtualMachine", "CREATE", &object, None, json!({})),
        &cluster,
    );
    let calls = cluster.list_calls();
    let distinct: std::collections::BTreeSet<&String> = calls.iter().collect();
    assert_eq!(calls.len(), 82);
    assert_eq!(distinct.len(), 82);
    let blocks: Vec<String> = (0..=255u8).map(|b| format!("{b:02x}")).collect();
    let blocks: Vec<&str> = blocks.iter().map(String::as_str).collect();
    assert_eq!(calls, with_legacy_lists(span_lists(&blocks)));
}
