//! Builders for admission payloads and cluster lists, shared by the handler tests.
#![allow(dead_code)]

use kubemacpool_policy::host::{FakeCluster, MemoryCluster};
use kubewarden_policy_sdk::response::ValidationResponse;
use serde_json::{Value, json};

pub const NETWORKS: &str = "k8s.v1.cni.cncf.io/networks";

/// An interface with a binding method (`masquerade`, `bridge`, `sriov`, ...).
pub fn iface(name: &str, binding: &str, mac: Option<&str>) -> Value {
    let mut interface = json!({ "name": name, binding: {} });
    if let Some(mac) = mac {
        interface["macAddress"] = json!(mac);
    }
    interface
}

pub fn pod_net(name: &str) -> Value {
    json!({ "name": name, "pod": {} })
}

pub fn multus_net(name: &str) -> Value {
    json!({ "name": name, "multus": { "networkName": format!("{name}-net") } })
}

/// A VirtualMachine with the given interfaces and networks, and a few fields the policy does
/// not know, which must survive mutation untouched.
pub fn vm(namespace: &str, name: &str, interfaces: Vec<Value>, networks: Vec<Value>) -> Value {
    json!({
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": { "name": name, "namespace": namespace, "annotations": { "owner": "team-a" } },
        "spec": {
            "runStrategy": "Always",
            "template": {
                "metadata": { "labels": { "kubevirt.io/domain": name } },
                "spec": {
                    "domain": {
                        "devices": { "interfaces": interfaces, "disks": [{ "name": "root", "disk": { "bus": "virtio" } }] },
                        "resources": { "requests": { "memory": "1Gi" } },
                        "futureKubevirtField": { "x": 1 }
                    },
                    "networks": networks
                }
            }
        }
    })
}

/// A pod with an optional Multus annotation and an optional owning VMI.
pub fn pod(namespace: &str, name: &str, networks: Option<&str>, vmi: Option<&str>) -> Value {
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": { "app": "demo" },
            "annotations": { "prometheus.io/scrape": "true" }
        },
        "spec": { "containers": [{ "name": "c", "image": "busybox" }] }
    });
    if let Some(networks) = networks {
        pod["metadata"]["annotations"][NETWORKS] = json!(networks);
    }
    if let Some(vmi) = vmi {
        pod["metadata"]["ownerReferences"] = json!([{
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "name": vmi, "uid": "0000", "controller": true, "blockOwnerDeletion": true
        }]);
    }
    pod
}

/// The handler tests answer host calls in order from a `FakeCluster` queue of two lists (VMs,
/// then Pods), so they run under `pods-tracked` unless they name a mode: the rules they check
/// do not depend on the mode. `inventory: indexed` (the default) has its own tests, against a
/// cluster that evaluates label selectors (tests/indexed.rs).
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

/// A Kubernetes List as the host sends it.
pub fn list(items: &[Value]) -> String {
    json!({ "apiVersion": "v1", "kind": "List", "metadata": {}, "items": items }).to_string()
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
    assert_eq!(
        serde_json::to_string(&response).unwrap(),
        serde_json::to_string(&kubemacpool_policy::evaluate(payload, &reversed)).unwrap(),
        "the answer depends on the list order"
    );
    response
}
