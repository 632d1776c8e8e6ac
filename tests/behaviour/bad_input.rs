//! The bad-input matrix (issue 7, part 3): every malformed, huge or odd input gets a clear
//! message or a correct answer, never a panic or a hang.

use crate::common::*;
use kubemacpool_policy::testing::FakeCluster;
use serde_json::{Value, json};

fn pod_with(networks: &str) -> Vec<u8> {
    pod_payload(&pod("default", "p", Some(networks), None), json!({}))
}

#[test]
fn malformed_json_in_the_annotation_is_rejected_with_the_parser_position() {
    let response = evaluate(&pod_with(r#"[{"name":"a",}]"#), &FakeCluster::new());
    assert!(rejection(&response).starts_with(
        "parsePodNetworkAnnotation: failed to parse pod Network Attachment Selection Annotation JSON format: trailing comma at line 1 column 14"
    ));
}

#[test]
fn a_non_string_name_is_rejected() {
    let response = evaluate(&pod_with(r#"[{"name":{"x":1}}]"#), &FakeCluster::new());
    assert!(rejection(&response).ends_with("element 0: \"name\" must be a string"));
}

#[test]
fn a_ten_megabyte_annotation_is_read_and_answered() {
    // One element carrying 10 MB of unknown data: kept byte for byte, MAC added.
    let blob = "x".repeat(10 * 1024 * 1024);
    let networks = format!(r#"[{{"name":"blue","blob":"{blob}"}}]"#);
    let response = evaluate(&pod_with(&networks), &empty_cluster());
    let written = pod_networks(mutated(&response));
    assert_eq!(written[0]["blob"].as_str().map(str::len), Some(blob.len()));
    assert!(written[0]["mac"].is_string());
}

#[test]
fn ten_thousand_networks_in_one_pod_all_get_distinct_macs() {
    let elements: Vec<Value> = (0..10_000)
        .map(|i| json!({ "name": format!("net-{i}") }))
        .collect();
    let response = evaluate(
        &pod_with(&Value::from(elements).to_string()),
        &empty_cluster(),
    );
    let written = pod_networks(mutated(&response));
    let mut macs: Vec<&str> = written
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["mac"].as_str().unwrap())
        .collect();
    macs.sort_unstable();
    macs.dedup();
    assert_eq!(macs.len(), 10_000);
}

#[test]
fn a_thousand_interfaces_in_one_vm_all_get_distinct_macs() {
    let interfaces: Vec<Value> = (0..1_000)
        .map(|i| iface(&format!("n{i}"), "bridge", None))
        .collect();
    let networks: Vec<Value> = (0..1_000).map(|i| multus_net(&format!("n{i}"))).collect();
    let object = vm("default", "big", interfaces, networks);
    let response = evaluate(
        &vm_payload("CREATE", &object, None, json!({})),
        &empty_cluster(),
    );
    let vm = mutated(&response);
    let mut macs: Vec<&str> = (0..1_000).map(|i| vm_mac(vm, i).unwrap()).collect();
    macs.sort_unstable();
    macs.dedup();
    assert_eq!(macs.len(), 1_000);
}

#[test]
fn non_ascii_and_control_characters_are_kept_or_quoted_never_a_panic() {
    let networks =
        json!([{ "name": "blüe\u{0007}net", "interface": "éth1", "x": "\u{0000}" }]).to_string();
    let response = evaluate(&pod_with(&networks), &empty_cluster());
    let written = pod_networks(mutated(&response));
    assert_eq!(written[0]["name"], "blüe\u{0007}net");
    assert_eq!(written[0]["x"], "\u{0000}");

    let response = evaluate(&pod_with("blüe@éth1, a\u{0007}b"), &empty_cluster());
    assert!(response.accepted, "{:?}", response.message);

    let response = evaluate(
        &pod_with(r#"[{"name":"a","mac":"02:00:00:00:00:0\u00e9"}]"#),
        &FakeCluster::new(),
    );
    assert_eq!(
        rejection(&response),
        "address 02:00:00:00:00:0é: invalid MAC address"
    );
}

#[test]
fn macs_with_wrong_lengths_and_separators_are_rejected_on_vms() {
    for bad in [
        "02:00:00:00:00",
        "02:00:00:00:00:00:00",
        "02.00.00.00.00.00",
        "0200:0000:0000",
        "02:00:00:00:00:0",
        "02::00:00:00:00:00",
    ] {
        let object = vm(
            "default",
            "vm",
            vec![iface("a", "bridge", Some(bad))],
            vec![multus_net("a")],
        );
        let response = evaluate(
            &vm_payload("CREATE", &object, None, json!({})),
            &FakeCluster::new(),
        );
        assert!(
            rejection(&response).ends_with(&format!("invalid MAC address format for interface a: {bad}: address {bad}: invalid MAC address")),
            "{bad}"
        );
    }
}

#[test]
fn a_host_error_fails_closed() {
    let response = evaluate(&pod_with("blue"), &FakeCluster::new().then_err("boom"));
    assert!(
        rejection(&response)
            .contains("host call list_resources_all kubevirt.io/v1 VirtualMachine failed: boom")
    );
}

#[test]
fn a_payload_that_is_not_an_admission_request_is_rejected_clearly() {
    for payload in [&b"not json"[..], b"{}", br#"{"request":7,"settings":{}}"#] {
        let response = evaluate(payload, &FakeCluster::new());
        assert!(
            rejection(&response).starts_with("cannot read the admission request"),
            "{payload:?}"
        );
    }
}

#[test]
fn invalid_settings_in_a_validate_call_are_a_rejection_not_a_panic() {
    let object = pod("default", "p", Some("blue"), None);
    let response = evaluate(
        &pod_payload(&object, json!({ "rangeStart": "nope" })),
        &FakeCluster::new(),
    );
    assert_eq!(
        rejection(&response),
        "invalid range start: address nope: invalid MAC address"
    );
}
