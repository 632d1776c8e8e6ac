//! Builders for admission payloads and cluster lists, shared by the handler tests.

pub use kubemacpool_policy::testing::objects::*;
use kubemacpool_policy::testing::{FakeCluster, MemoryCluster};
use kubewarden_policy_sdk::response::ValidationResponse;
use serde_json::{Value, json};

/// The handler tests answer host calls in order from a `FakeCluster` queue of two lists (VMs,
/// then Pods), so they run under `pods-tracked` unless they name a mode: the rules they check
/// do not depend on the mode. `inventory: indexed` (the default) has its own tests, against a
/// cluster that evaluates label selectors (tests/behaviour/indexed.rs).
pub fn by_kind(mut settings: Value) -> Value {
    if let Some(map) = settings.as_object_mut() {
        map.entry("inventory").or_insert(json!("pods-tracked"));
    }
    settings
}

/// The `validate` payload for an admission request.
pub fn payload(
    group: &str,
    kind: &str,
    operation: &str,
    object: &Value,
    old_object: Option<&Value>,
    settings: Value,
) -> Vec<u8> {
    let settings = by_kind(settings);
    let namespace = object["metadata"]["namespace"].as_str().unwrap_or("");
    serde_json::to_vec(&json!({
        "settings": settings,
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": { "group": group, "version": "v1", "kind": kind },
            "resource": { "group": group, "version": "v1", "resource": format!("{}s", kind.to_lowercase()) },
            "name": object["metadata"]["name"].as_str().unwrap_or(""),
            "namespace": namespace,
            "operation": operation,
            "userInfo": { "username": "admin" },
            "object": object,
            "oldObject": old_object.cloned().unwrap_or(Value::Null),
            "dryRun": false
        }
    }))
    .unwrap()
}

pub fn vm_payload(
    operation: &str,
    object: &Value,
    old: Option<&Value>,
    settings: Value,
) -> Vec<u8> {
    payload(
        "kubevirt.io",
        "VirtualMachine",
        operation,
        object,
        old,
        settings,
    )
}

pub fn pod_payload(object: &Value, settings: Value) -> Vec<u8> {
    payload("", "Pod", "CREATE", object, None, settings)
}

/// A cluster whose two inventory lists are `vms` and `pods`.
pub fn cluster(vms: &[Value], pods: &[Value]) -> FakeCluster {
    FakeCluster::new().then_ok(list(vms)).then_ok(list(pods))
}

pub fn empty_cluster() -> FakeCluster {
    cluster(&[], &[])
}

pub fn evaluate(payload: &[u8], cluster: &FakeCluster) -> ValidationResponse {
    kubemacpool_policy::evaluate(payload, cluster)
}

/// The mutated object, failing the test when the request was not accepted with a mutation.
pub fn mutated(response: &ValidationResponse) -> &Value {
    assert!(response.accepted, "rejected: {:?}", response.message);
    response.mutated_object.as_ref().expect("a mutated object")
}

/// `macAddress` of interface `index` in a VM.
pub fn vm_mac(vm: &Value, index: usize) -> Option<&str> {
    vm.pointer(&format!(
        "/spec/template/spec/domain/devices/interfaces/{index}/macAddress"
    ))
    .and_then(Value::as_str)
}

/// The Multus annotation of a pod, parsed.
pub fn pod_networks(pod: &Value) -> Value {
    serde_json::from_str(pod["metadata"]["annotations"][NETWORKS].as_str().unwrap()).unwrap()
}

pub fn rejection(response: &ValidationResponse) -> &str {
    assert!(!response.accepted, "accepted, expected a rejection");
    response.message.as_deref().unwrap_or("")
}

/// Settings with a small pool, where collisions are forced.
pub fn small_pool(first: &str, last: &str) -> Value {
    json!({ "rangeStart": first, "rangeEnd": last })
}

/// The `validate` payload of an admission request with `settings` as given (no mode added),
/// for the tests against a `MemoryCluster`.
pub fn review(
    kind: &str,
    operation: &str,
    object: &Value,
    old: Option<&Value>,
    settings: Value,
) -> Vec<u8> {
    let group = if kind == "Pod" { "" } else { "kubevirt.io" };
    serde_json::to_vec(&json!({
        "settings": settings,
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": { "group": group, "version": "v1", "kind": kind },
            "resource": { "group": group, "version": "v1", "resource": format!("{}s", kind.to_lowercase()) },
            "name": object["metadata"]["name"],
            "namespace": object["metadata"]["namespace"],
            "operation": operation,
            "userInfo": {},
            "object": object,
            "oldObject": old.cloned().unwrap_or(Value::Null),
            "dryRun": false
        }
    }))
    .unwrap()
}

/// Evaluates on the cluster and on the same cluster listing in reverse order: the answers
/// must be byte-identical (behaviour.md section 6: no answer depends on the list order).
pub fn run(payload: &[u8], cluster: &MemoryCluster) -> ValidationResponse {
    let response = kubemacpool_policy::evaluate(payload, cluster);
    let mut reversed = MemoryCluster::new(cluster.vms.clone(), cluster.pods.clone());
    reversed.reversed = true;
    reversed.kube_system_uid = cluster.kube_system_uid.clone();
    assert_eq!(
        serde_json::to_string(&response).unwrap(),
        serde_json::to_string(&kubemacpool_policy::evaluate(payload, &reversed)).unwrap(),
        "the answer depends on the list order"
    );
    response
}

/// The span of `kind` that holds `block` (two hex digits), as behaviour.md 7.1 writes it:
/// 4 blocks for VMs, 16 for Pods, `<first>-<last>`.
pub fn span(kind: &str, block: &str) -> String {
    let width = if kind == "Pod" { 16 } else { 4 };
    let first = u8::from_str_radix(block, 16).unwrap() / width * width;
    format!("{first:02x}-{:02x}", first + (width - 1))
}

/// `mac-blocks.kubemacpool.io/<span>`: the index label of a `kind` holding a MAC of `block`.
pub fn span_label(kind: &str, block: &str) -> String {
    format!("mac-blocks.kubemacpool.io/{}", span(kind, block))
}

/// The spans of an object's index labels, sorted.
pub fn spans_labelled(object: &Value) -> Vec<String> {
    let mut spans: Vec<String> = object["metadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| k.strip_prefix("mac-blocks.kubemacpool.io/"))
        .map(str::to_string)
        .collect();
    spans.sort();
    spans
}

/// The seed's `get_resource` (behaviour.md section 6), as the doubles record it.
pub fn seed_call() -> kubemacpool_policy::testing::Call {
    kubemacpool_policy::testing::Call::Get {
        api_version: "v1".into(),
        kind: "Namespace".into(),
        namespace: None,
        name: "kube-system".into(),
    }
}

/// `default/<name>`: a masquerade interface on the pod network and a bridge on a Multus network,
/// both without a MAC.
pub fn two_nic_vm(name: &str) -> Value {
    vm(
        "default",
        name,
        vec![
            iface("default", "masquerade", None),
            iface("blue", "bridge", None),
        ],
        vec![pod_net("default"), multus_net("blue")],
    )
}

/// The MACs of a VM's interfaces that have one, in order.
pub fn macs_of_vm(object: &Value) -> Vec<String> {
    object["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["macAddress"].as_str().map(str::to_string))
        .collect()
}
