//! The replay-session format and the AdmissionResponse shape, as kwctl has them.

use serde_json::{Value, json};
use test_host::response::{AdmissionResponse, ValidationResponse};
use test_host::session::{Replay, parse_session};

const SESSION: &str = r#"
- type: Exchange
  request: |
    !KubernetesListResourceAll
    api_version: kubevirt.io/v1
    kind: VirtualMachine
    label_selector: null
    field_selector: null
    field_masks:
    - spec.template.spec.networks
    - metadata
  response:
    type: Success
    payload: '{"items":[]}'
- type: Exchange
  request: |
    !KubernetesGetResource
    api_version: kubevirt.io/v1
    kind: VirtualMachine
    name: vm1
    namespace: default
    disable_cache: false
    field_masks: null
  response:
    type: Error
    message: Cannot find kubevirt.io/v1/VirtualMachine named 'vm1' inside of namespace 'Some("default")'
"#;

fn list_call(masks: &[&str]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "api_version": "kubevirt.io/v1", "kind": "VirtualMachine",
        "label_selector": null, "field_selector": null, "field_masks": masks
    }))
    .unwrap()
}

fn get_call(name: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "api_version": "kubevirt.io/v1", "kind": "VirtualMachine", "name": name,
        "namespace": "default", "disable_cache": false, "field_masks": null
    }))
    .unwrap()
}

#[test]
fn a_session_parses_into_tagged_exchanges_with_both_response_types() {
    let exchanges = parse_session(SESSION).unwrap();
    assert_eq!(exchanges.len(), 2);
    assert_eq!(exchanges[0].tag, "KubernetesListResourceAll");
    assert_eq!(exchanges[0].fields["kind"], "VirtualMachine");
    assert_eq!(exchanges[0].response, Ok(br#"{"items":[]}"#.to_vec()));
    assert_eq!(exchanges[1].tag, "KubernetesGetResource");
    assert!(
        exchanges[1]
            .response
            .as_ref()
            .unwrap_err()
            .starts_with("Cannot find ")
    );
}

#[test]
fn calls_are_answered_in_order_and_field_masks_compare_as_a_set() {
    let replay = Replay::new(parse_session(SESSION).unwrap());
    let first = replay.answer(
        "kubernetes",
        "list_resources_all",
        &list_call(&["metadata", "spec.template.spec.networks"]),
    );
    assert_eq!(first, Ok(br#"{"items":[]}"#.to_vec()));
    let second = replay.answer("kubernetes", "get_resource", &get_call("vm1"));
    assert!(second.unwrap_err().starts_with("Cannot find "));
    assert!(replay.failures().is_empty());
    assert_eq!(replay.unused(), 0);
}

#[test]
fn a_field_that_differs_is_a_mismatch_naming_it() {
    let replay = Replay::new(parse_session(SESSION).unwrap());
    let answer = replay.answer(
        "kubernetes",
        "list_resources_all",
        &list_call(&["metadata"]),
    );
    let error = answer.unwrap_err();
    assert!(error.contains("field `field_masks` differs"), "{error}");
    assert_eq!(replay.failures().len(), 1);
    assert_eq!(replay.unused(), 2, "a mismatch consumes nothing");
}

#[test]
fn a_call_of_another_kind_than_recorded_is_a_mismatch() {
    let replay = Replay::new(parse_session(SESSION).unwrap());
    let error = replay
        .answer("kubernetes", "get_resource", &get_call("vm1"))
        .unwrap_err();
    assert!(
        error.contains("recorded !KubernetesListResourceAll, policy made !KubernetesGetResource"),
        "{error}"
    );
}

#[test]
fn a_call_past_the_end_of_the_session_is_exhaustion() {
    let replay = Replay::new(Vec::new());
    let error = replay
        .answer("kubernetes", "get_resource", &get_call("vm1"))
        .unwrap_err();
    assert!(error.contains("the session is exhausted"), "{error}");
}

#[test]
fn a_missing_field_equals_null_but_not_a_value() {
    let replay = Replay::new(parse_session(SESSION).unwrap());
    let without_selectors = serde_json::to_vec(&json!({
        "api_version": "kubevirt.io/v1", "kind": "VirtualMachine",
        "field_masks": ["metadata", "spec.template.spec.networks"]
    }))
    .unwrap();
    assert!(
        replay
            .answer("kubernetes", "list_resources_all", &without_selectors)
            .is_ok()
    );
    let replay = Replay::new(parse_session(SESSION).unwrap());
    let with_selector = serde_json::to_vec(&json!({
        "api_version": "kubevirt.io/v1", "kind": "VirtualMachine", "label_selector": "a=b",
        "field_masks": ["metadata", "spec.template.spec.networks"]
    }))
    .unwrap();
    assert!(
        replay
            .answer("kubernetes", "list_resources_all", &with_selector)
            .is_err()
    );
}

#[test]
fn a_session_that_is_not_a_list_of_exchanges_is_refused() {
    assert!(parse_session("type: Exchange").is_err());
    let untagged = "- type: Exchange\n  request: 'kind: Pod'\n  response:\n    type: Success\n    payload: '{}'\n";
    assert!(parse_session(untagged).is_err());
}

fn validation(json: Value) -> ValidationResponse {
    serde_json::from_value(json).unwrap()
}

#[test]
fn a_mutation_becomes_a_base64_json_patch() {
    let object = json!({ "metadata": { "name": "a" } });
    let mutated = json!({ "metadata": { "name": "a", "labels": { "x": "y" } } });
    let response = AdmissionResponse::from_validation(
        "uid-1",
        &object,
        validation(json!({ "accepted": true, "mutated_object": mutated })),
    )
    .unwrap();
    // The patch is [{"op":"add","path":"/metadata/labels","value":{"x":"y"}}].
    assert_eq!(
        serde_json::to_string(&response).unwrap(),
        r#"{"uid":"uid-1","allowed":true,"patchType":"JSONPatch","patch":"W3sib3AiOiJhZGQiLCJwYXRoIjoiL21ldGFkYXRhL2xhYmVscyIsInZhbHVlIjp7IngiOiJ5In19XQ==","auditAnnotations":null,"warnings":null}"#
    );
}

#[test]
fn an_empty_diff_sends_no_patch() {
    let object = json!({ "a": 1 });
    let response = AdmissionResponse::from_validation(
        "u",
        &object,
        validation(json!({ "accepted": true, "mutated_object": { "a": 1 } })),
    )
    .unwrap();
    assert_eq!(
        serde_json::to_string(&response).unwrap(),
        r#"{"uid":"u","allowed":true,"auditAnnotations":null,"warnings":null}"#
    );
}

#[test]
fn a_rejection_carries_status_message_and_code_and_warnings() {
    let response = AdmissionResponse::from_validation(
        "u",
        &json!({}),
        validation(json!({ "accepted": false, "message": "no", "code": 409, "warnings": ["w"] })),
    )
    .unwrap();
    assert_eq!(
        serde_json::to_string(&response).unwrap(),
        r#"{"uid":"u","allowed":false,"status":{"message":"no","code":409},"auditAnnotations":null,"warnings":["w"]}"#
    );
}

/// kwctl's serde_json keeps object keys sorted (no `preserve_order`), so its patches list the
/// changes in key order whatever order the object was written in. A test host built with
/// `preserve_order` (Cargo unifies features across a workspace build) would not.
#[test]
fn patch_operations_come_in_key_order_as_kwctl_writes_them() {
    let object: Value = serde_json::from_str(r#"{"z":{},"a":{}}"#).unwrap();
    let mutated: Value = serde_json::from_str(r#"{"z":{"k":1},"a":{"k":2}}"#).unwrap();
    let response = AdmissionResponse::from_validation(
        "u",
        &object,
        validation(json!({ "accepted": true, "mutated_object": mutated })),
    )
    .unwrap();
    use base64::Engine as _;
    let patch = base64::engine::general_purpose::STANDARD
        .decode(response.patch.unwrap())
        .unwrap();
    assert_eq!(
        String::from_utf8(patch).unwrap(),
        r#"[{"op":"add","path":"/a/k","value":2},{"op":"add","path":"/z/k","value":1}]"#
    );
}
