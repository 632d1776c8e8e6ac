//! behaviour.md section 10: audit re-evaluations of stored objects.

use crate::common::*;
use kubemacpool_policy::testing::{Call, FakeCluster};
use serde_json::{Value, json};

const UID: &str = "8c7f3a52-1b7e-4f5c-9d3e-2a6b0c4d5e6f";

/// A stored object: what the API server keeps, with its uid.
fn stored(mut object: Value) -> Value {
    object["metadata"]["uid"] = json!(UID);
    object["metadata"]["labels"] = json!({ "kubemacpool.io/tracked": "true" });
    object
}

/// The payload Kubewarden's audit scanner sends: CREATE of the stored object, with the
/// object's uid as request uid, no oldObject, no dryRun, an empty userInfo.
fn audit_payload(object: &Value, settings: Value) -> Vec<u8> {
    let (group, kind) = match object["kind"].as_str() {
        Some("VirtualMachine") => ("kubevirt.io", "VirtualMachine"),
        _ => ("", "Pod"),
    };
    serde_json::to_vec(&json!({
        "settings": by_kind(settings),
        "request": {
            "uid": object["metadata"]["uid"],
            "kind": { "group": group, "version": "v1", "kind": kind },
            "resource": { "group": group, "version": "v1", "resource": kind },
            "name": object["metadata"]["name"],
            "namespace": object["metadata"]["namespace"],
            "operation": "CREATE",
            "userInfo": {},
            "object": object,
            "oldObject": null
        }
    }))
    .unwrap()
}

fn clash_vm() -> Value {
    stored(vm(
        "ns1",
        "vm-a",
        vec![iface("net1", "bridge", Some("02:00:00:00:0c:01"))],
        vec![multus_net("net1")],
    ))
}

fn clash_pod() -> Value {
    let mut pod = stored(pod(
        "ns2",
        "pod-b",
        Some(r#"[{"name":"blue-net","interface":"net1","mac":"02:00:00:00:0c:01"}]"#),
        None,
    ));
    pod["metadata"]["uid"] = json!("pod-b-uid");
    pod
}

fn other_vm() -> Value {
    let mut vm = stored(vm(
        "ns2",
        "vm-b",
        vec![iface("net1", "bridge", Some("02-00-00-00-0C-01"))],
        vec![multus_net("net1")],
    ));
    vm["metadata"]["uid"] = json!("vm-b-uid");
    vm
}

#[test]
fn a_vm_holding_a_mac_another_owner_holds_fails_naming_every_other_owner_sorted() {
    let cluster = cluster(&[other_vm(), clash_vm()], &[clash_pod()]);
    let response = evaluate(&audit_payload(&clash_vm(), json!({})), &cluster);
    assert_eq!(
        rejection(&response),
        "MAC collision: 02:00:00:00:0c:01 on interface net1 is also held by Pod ns2/pod-b, VirtualMachine ns2/vm-b"
    );
    assert_eq!(response.code, Some(409));
    assert_eq!(response.mutated_object, None);
}

#[test]
fn the_pod_of_that_collision_fails_too_naming_the_vms() {
    let cluster = cluster(&[clash_vm(), other_vm()], &[clash_pod()]);
    let mut audited = clash_pod();
    audited["metadata"]["uid"] = json!(UID);
    let response = evaluate(&audit_payload(&audited, json!({})), &cluster);
    assert_eq!(
        rejection(&response),
        "MAC collision: 02:00:00:00:0c:01 on interface net1 is also held by VirtualMachine ns1/vm-a, VirtualMachine ns2/vm-b"
    );
}

#[test]
fn an_object_is_never_its_own_collision() {
    let cluster = cluster(&[clash_vm()], &[]);
    let response = evaluate(&audit_payload(&clash_vm(), json!({})), &cluster);
    assert!(response.accepted);
    assert_eq!(response.mutated_object, None);
    assert_eq!(response.warnings, None);
}

#[test]
fn a_vm_and_the_launcher_pods_of_its_vmi_are_one_owner() {
    let launcher = pod(
        "ns1",
        "virt-launcher-vm-a-x7k2p",
        Some(r#"[{"name":"blue-net","mac":"02:00:00:00:0c:01"}]"#),
        Some("vm-a"),
    );
    let cluster = cluster(&[clash_vm()], &[launcher]);
    let response = evaluate(&audit_payload(&clash_vm(), json!({})), &cluster);
    assert!(response.accepted, "{:?}", response.message);
}

#[test]
fn every_colliding_interface_is_named_in_one_message() {
    let audited = stored(vm(
        "ns1",
        "vm-a",
        vec![
            iface("net1", "bridge", Some("02:00:00:00:0c:01")),
            iface("net2", "bridge", Some("02:00:00:00:0c:02")),
        ],
        vec![multus_net("net1"), multus_net("net2")],
    ));
    let holder = stored(pod(
        "ns2",
        "pod-c",
        Some(r#"[{"name":"a","mac":"02:00:00:00:0c:02"},{"name":"b","mac":"02:00:00:00:0c:01"}]"#),
        None,
    ));
    let response = evaluate(
        &audit_payload(&audited, json!({})),
        &cluster(std::slice::from_ref(&audited), &[holder]),
    );
    assert_eq!(
        rejection(&response),
        "MAC collision: 02:00:00:00:0c:01 on interface net1 is also held by Pod ns2/pod-c; \
         MAC collision: 02:00:00:00:0c:02 on interface net2 is also held by Pod ns2/pod-c"
    );
}

#[test]
fn an_audit_never_allocates_a_vm_without_macs_passes_without_reading_the_inventory() {
    let audited = stored(vm(
        "ns1",
        "vm-a",
        vec![iface("default", "masquerade", None)],
        vec![pod_net("default")],
    ));
    let cluster = FakeCluster::new();
    let response = evaluate(&audit_payload(&audited, json!({})), &cluster);
    assert!(response.accepted);
    assert_eq!(response.mutated_object, None);
    assert_eq!(cluster.calls(), vec![]);
}

#[test]
fn an_audited_pod_that_multus_has_wired_is_still_checked() {
    let mut audited = clash_pod();
    audited["metadata"]["uid"] = json!(UID);
    audited["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"] =
        json!(r#"[{"name":"cbr0","default":true}]"#);
    let response = evaluate(
        &audit_payload(&audited, json!({})),
        &cluster(&[clash_vm()], &[]),
    );
    assert_eq!(response.code, Some(409), "{:?}", response.message);
}

#[test]
fn the_audit_of_a_launcher_pod_whose_vm_exists_passes_and_lists_nothing() {
    let mut launcher = stored(pod(
        "ns1",
        "virt-launcher-vm-a-x7k2p",
        Some(r#"[{"name":"blue-net","mac":"02:00:00:00:0c:01"}]"#),
        Some("vm-a"),
    ));
    launcher["metadata"]["uid"] = json!(UID);
    let cluster = FakeCluster::new().then_ok(clash_vm().to_string());
    let response = evaluate(&audit_payload(&launcher, json!({})), &cluster);
    assert!(response.accepted);
    assert_eq!(cluster.calls().len(), 1);
    assert!(matches!(cluster.calls()[0], Call::Get { .. }));
}

#[test]
fn with_audit_duplicates_ignore_an_audit_is_answered_as_an_admission() {
    let cluster = cluster(&[clash_vm()], &[clash_pod()]);
    let response = evaluate(
        &audit_payload(&clash_vm(), json!({ "auditDuplicates": "ignore" })),
        &cluster,
    );
    assert!(response.accepted);
    assert_eq!(
        response.warnings,
        Some(vec![
            "MAC address 02:00:00:00:0c:01 requested for interface net1 is already used by Pod ns2/pod-b".to_string()
        ])
    );
}

#[test]
fn admissions_keep_following_duplicate_macs_whatever_audit_duplicates_says() {
    // A real CREATE: the object has no uid yet.
    let mut created = clash_vm();
    created["metadata"].as_object_mut().unwrap().remove("uid");
    let response = evaluate(
        &vm_payload("CREATE", &created, None, json!({})),
        &cluster(&[], &[clash_pod()]),
    );
    assert!(response.accepted);
    assert_eq!(response.warnings.map(|w| w.len()), Some(1));
}

#[test]
fn a_host_error_while_auditing_fails_closed_naming_the_call() {
    let cluster = FakeCluster::new().then_err("connection refused");
    let response = evaluate(&audit_payload(&clash_vm(), json!({})), &cluster);
    assert_eq!(response.code, Some(500));
    assert!(
        rejection(&response).ends_with(
            "cannot build the MAC inventory: host call list_resources_all kubevirt.io/v1 VirtualMachine failed: connection refused"
        ),
        "{:?}",
        response.message
    );
}
