//! behaviour.md sections 4 and 6 for Pods: one test per rule.

use crate::common::*;
use kubemacpool_policy::testing::{Call, FakeCluster};
use kubewarden_policy_sdk::response::ValidationResponse;
use serde_json::{Value, json};

fn create(object: &Value, settings: Value, cluster: &FakeCluster) -> ValidationResponse {
    evaluate(&pod_payload(object, settings), cluster)
}

/// A pod `default/p` with the given annotation, default settings, and a host that must not be called.
fn create_without_cluster(networks: &str) -> ValidationResponse {
    create(
        &pod("default", "p", Some(networks), None),
        json!({}),
        &FakeCluster::new(),
    )
}

fn unchanged(response: &ValidationResponse) {
    assert!(response.accepted, "rejected: {:?}", response.message);
    assert_eq!(response.mutated_object, None);
}

fn vm_holding(mac: &str) -> Value {
    vm(
        "prod",
        "db",
        vec![iface("blue", "bridge", Some(mac))],
        vec![multus_net("blue")],
    )
}

#[test]
fn a_pod_without_the_annotation_is_accepted_unchanged() {
    let cluster = FakeCluster::new();
    unchanged(&create(
        &pod("default", "p", None, None),
        json!({}),
        &cluster,
    ));
    assert!(cluster.calls().is_empty());
}

#[test]
fn a_pod_with_network_status_is_accepted_unchanged() {
    let mut object = pod("default", "p", Some(r#"[{"name":"blue"}]"#), None);
    object["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"] = json!("[]");
    unchanged(&create(&object, json!({}), &FakeCluster::new()));
}

#[test]
fn the_empty_value_is_rejected() {
    let response = create_without_cluster("");
    assert_eq!(
        rejection(&response),
        "parsePodNetworkAnnotation: pod annotation not having \"network\" as key, refer Multus README.md for the usage guide"
    );
    assert_eq!(response.code, Some(400));
}

#[test]
fn the_short_form_is_converted_with_namespace_and_interface() {
    let response = create(
        &pod("default", "p", Some("team/blue@eth1, red"), None),
        json!({}),
        &empty_cluster(),
    );
    let networks = pod_networks(mutated(&response));
    assert_eq!(networks[0]["name"], "blue");
    assert_eq!(networks[0]["namespace"], "team");
    assert_eq!(networks[0]["interface"], "eth1");
    assert_eq!(networks[1]["name"], "red");
    assert!(networks[1].get("namespace").is_none());
    assert_ne!(networks[0]["mac"], networks[1]["mac"]);
}

#[test]
fn the_short_form_is_ignored_with_pod_short_form_ignore() {
    let cluster = FakeCluster::new();
    unchanged(&create(
        &pod("default", "p", Some("blue"), None),
        json!({ "podShortForm": "ignore" }),
        &cluster,
    ));
    assert!(cluster.calls().is_empty());
}

#[test]
fn a_malformed_short_form_is_rejected_quoting_the_element() {
    let response = create_without_cluster("blue, a/b/c");
    assert_eq!(
        rejection(&response),
        "parsePodNetworkAnnotation: invalid network selection element \"a/b/c\": more than one \"/\""
    );
}

#[test]
fn json_with_and_without_mac_on_several_networks() {
    let value =
        r#"[{"name":"blue","mac":"02:00:00:00:00:aa"},{"name":"red"},{"name":"green","mac":""}]"#;
    let response = create(
        &pod("default", "p", Some(value), None),
        json!({}),
        &empty_cluster(),
    );
    let pod = mutated(&response);
    let networks = pod_networks(pod);
    assert_eq!(networks[0]["mac"], "02:00:00:00:00:aa");
    let (red, green) = (
        networks[1]["mac"].as_str().unwrap(),
        networks[2]["mac"].as_str().unwrap(),
    );
    assert_ne!(red, green);
    assert!(![red, green].contains(&"02:00:00:00:00:aa"));
    assert_eq!(pod["metadata"]["labels"]["kubemacpool.io/tracked"], "true");
    assert_eq!(
        pod["metadata"]["labels"]["app"], "demo",
        "other labels stay"
    );
}

#[test]
fn unknown_keys_and_key_order_are_preserved_except_the_added_mac() {
    let value = r#"[{"namespace":"team","name":"blue","ipam-claim-reference":"claim-1","cni-args":{"a":1}}]"#;
    let response = create(
        &pod("default", "p", Some(value), None),
        json!({"rangeStart":"02:00:00:00:00:01","rangeEnd":"02:00:00:00:00:02","excludedMacs":["02:00:00:00:00:02"]}),
        &empty_cluster(),
    );
    assert_eq!(
        mutated(&response)["metadata"]["annotations"][NETWORKS],
        r#"[{"namespace":"team","name":"blue","ipam-claim-reference":"claim-1","cni-args":{"a":1},"mac":"02:00:00:00:00:01"}]"#
    );
}

#[test]
fn ips_as_a_string_is_rejected() {
    let response = create(
        &pod(
            "default",
            "p",
            Some(r#"[{"name":"blue","ips":"10.0.0.1"}]"#),
            None,
        ),
        json!({}),
        &FakeCluster::new(),
    );
    assert_eq!(
        rejection(&response),
        "parsePodNetworkAnnotation: failed to parse pod Network Attachment Selection Annotation JSON format: element 0: \"ips\" must be an array of strings"
    );
}

#[test]
fn an_invalid_mac_is_rejected() {
    let response = create(
        &pod(
            "default",
            "p",
            Some(r#"[{"name":"blue","mac":"02:00:00:00:00:0g"}]"#),
            None,
        ),
        json!({}),
        &FakeCluster::new(),
    );
    assert_eq!(
        rejection(&response),
        "address 02:00:00:00:00:0g: invalid MAC address"
    );
}

#[test]
fn a_mac_held_by_a_vm_is_avoided() {
    let settings = small_pool("02:00:00:00:00:00", "02:00:00:00:00:01");
    let response = create(
        &pod("default", "p", Some("blue"), None),
        settings,
        &cluster(&[vm_holding("02:00:00:00:00:00")], &[]),
    );
    assert_eq!(
        pod_networks(mutated(&response))[0]["mac"],
        "02:00:00:00:00:01"
    );
}

#[test]
fn a_requested_mac_held_by_a_vm_warns_under_warn() {
    let object = pod(
        "default",
        "p",
        Some(r#"[{"name":"blue","mac":"02:00:00:00:00:07"}]"#),
        None,
    );
    let response = create(
        &object,
        json!({ "duplicateMacs": "warn" }),
        &cluster(&[vm_holding("02:00:00:00:00:07")], &[]),
    );
    assert!(response.accepted);
    assert_eq!(
        response.warnings,
        Some(vec!["MAC address 02:00:00:00:00:07 requested for network blue is already used by VirtualMachine prod/db".to_string()])
    );
}

#[test]
fn a_requested_mac_held_by_a_vm_is_rejected_under_reject() {
    let object = pod(
        "default",
        "p",
        Some(r#"[{"name":"blue","mac":"02:00:00:00:00:07"}]"#),
        None,
    );
    let response = create(
        &object,
        json!({ "duplicateMacs": "reject" }),
        &cluster(&[vm_holding("02:00:00:00:00:07")], &[]),
    );
    assert_eq!(
        rejection(&response),
        "failed to allocate requested mac address: 02:00:00:00:00:07 is used by VirtualMachine prod/db"
    );
}

#[test]
fn a_requested_mac_held_by_a_vm_is_accepted_silently_under_allow() {
    let object = pod(
        "default",
        "p",
        Some(r#"[{"name":"blue","mac":"02:00:00:00:00:07"}]"#),
        None,
    );
    let cluster = FakeCluster::new();
    let response = create(&object, json!({ "duplicateMacs": "allow" }), &cluster);
    assert!(response.accepted);
    assert_eq!(response.warnings, None);
    assert!(cluster.calls().is_empty());
}

fn launcher(vmi: &str) -> Value {
    pod(
        "default",
        &format!("virt-launcher-{vmi}-abcde"),
        Some(r#"[{"name":"blue"}]"#),
        Some(vmi),
    )
}

#[test]
fn the_launcher_pod_of_an_existing_vm_is_untouched() {
    let cluster = FakeCluster::new().then_ok(vm_holding("02:00:00:00:00:01").to_string());
    unchanged(&create(&launcher("db"), json!({}), &cluster));
    assert_eq!(
        cluster.calls(),
        vec![Call::Get {
            api_version: "kubevirt.io/v1".into(),
            kind: "VirtualMachine".into(),
            namespace: Some("default".into()),
            name: "db".into()
        }]
    );
}

#[test]
fn the_launcher_pod_of_a_standalone_vmi_is_allocated() {
    let cluster = FakeCluster::new()
        .then_err("Cannot find kubevirt.io/v1/VirtualMachine named 'solo' inside of namespace 'Some(\"default\")'")
        .then_ok(list(&[]))
        .then_ok(list(&[]));
    let response = create(&launcher("solo"), json!({}), &cluster);
    assert!(pod_networks(mutated(&response))[0]["mac"].is_string());
    // The VM lookup, then the seed (section 6: after the lookup, before the lists), then the lists.
    let calls = cluster.calls();
    assert_eq!(calls.len(), 4);
    assert!(matches!(&calls[0], Call::Get { kind, .. } if kind == "VirtualMachine"));
    assert_eq!(calls[1], seed_call());
}

#[test]
fn a_host_error_on_the_vm_lookup_leaves_the_launcher_pod_untouched() {
    let cluster = FakeCluster::new().then_err("Forbidden: cannot get virtualmachines");
    unchanged(&create(&launcher("db"), json!({}), &cluster));
    assert_eq!(cluster.pending(), 0);
}

#[test]
fn dry_run_gets_the_same_answer() {
    let object = pod("default", "p", Some("blue"), None);
    let mut payload: Value = serde_json::from_slice(&pod_payload(&object, json!({}))).unwrap();
    let plain = evaluate(&serde_json::to_vec(&payload).unwrap(), &empty_cluster());
    payload["request"]["dryRun"] = json!(true);
    let dry = evaluate(&serde_json::to_vec(&payload).unwrap(), &empty_cluster());
    assert_eq!(
        serde_json::to_vec(&plain).unwrap(),
        serde_json::to_vec(&dry).unwrap()
    );
}

fn generated(uid: &str) -> Vec<u8> {
    let mut object = pod("default", "", Some("blue"), None);
    object["metadata"].as_object_mut().unwrap().remove("name");
    object["metadata"]["generateName"] = json!("web-");
    let mut payload: Value = serde_json::from_slice(&pod_payload(&object, json!({}))).unwrap();
    payload["request"]["uid"] = json!(uid);
    serde_json::to_vec(&payload).unwrap()
}

#[test]
fn generate_name_pods_get_distinct_macs_for_distinct_uids_and_the_same_for_the_same_uid() {
    let mac =
        |uid| pod_networks(mutated(&evaluate(&generated(uid), &empty_cluster())))[0]["mac"].clone();
    assert_eq!(mac("uid-1"), mac("uid-1"));
    assert_ne!(mac("uid-1"), mac("uid-2"));
}

#[test]
fn a_full_pool_is_rejected_with_the_range_is_full() {
    let settings = small_pool("02:00:00:00:00:00", "02:00:00:00:00:01");
    let holder = pod(
        "prod",
        "other",
        Some(r#"[{"name":"x","mac":"02:00:00:00:00:01"}]"#),
        None,
    );
    let response = create(
        &pod("default", "p", Some("blue"), None),
        settings,
        &cluster(&[vm_holding("02:00:00:00:00:00")], &[holder]),
    );
    assert_eq!(rejection(&response), "the range is full");
}

#[test]
fn a_pod_never_gets_a_mac_a_launcher_pod_holds_and_names_the_pod_on_duplicates() {
    let holder = pod(
        "prod",
        "virt-launcher-db-1",
        Some(r#"[{"name":"x","mac":"02:00:00:00:00:00"}]"#),
        Some("db"),
    );
    let settings = small_pool("02:00:00:00:00:00", "02:00:00:00:00:01");
    let response = create(
        &pod("default", "p", Some("blue"), None),
        settings,
        &cluster(&[], std::slice::from_ref(&holder)),
    );
    assert_eq!(
        pod_networks(mutated(&response))[0]["mac"],
        "02:00:00:00:00:01"
    );

    let object = pod(
        "default",
        "p",
        Some(r#"[{"name":"blue","mac":"02:00:00:00:00:00"}]"#),
        None,
    );
    let response = create(
        &object,
        json!({ "duplicateMacs": "reject" }),
        &cluster(&[], &[holder]),
    );
    assert_eq!(
        rejection(&response),
        "failed to allocate requested mac address: 02:00:00:00:00:00 is used by Pod prod/virt-launcher-db-1"
    );
}

#[test]
fn a_pod_update_that_keeps_the_networks_value_of_an_untracked_pod_passes_unchanged() {
    let object = pod("default", "p", Some("blue"), None);
    let response = evaluate(
        &payload("", "Pod", "UPDATE", &object, Some(&object), json!({})),
        &FakeCluster::new(),
    );
    unchanged(&response);
}

#[test]
fn an_empty_json_list_holds_no_mac_and_changes_nothing() {
    unchanged(&create_without_cluster("[]"));
}
