//! Whole admissions: a payload built from the input, evaluated against the sample cluster,
//! and the checks every response must pass whatever the input.

use kubewarden_policy_sdk::response::ValidationResponse;
use serde_json::{Value, json};

use kubemacpool_policy::cluster::FakeCluster;

use crate::cluster::sample_cluster;

/// The kinds an admission target aims at.
#[derive(Clone, Copy)]
pub enum Target {
    VirtualMachine,
    Pod,
}

/// A `validate` payload: the input itself when it is one, else the input as the admitted
/// object (so that mutations of the object are not wasted on breaking the envelope), with
/// settings that make the sample cluster's range nearly full.
pub fn payload(data: &[u8], target: Target) -> Vec<u8> {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return data.to_vec();
    };
    if value.get("request").is_some() {
        return data.to_vec();
    }
    let (group, kind, operation) = match target {
        Target::VirtualMachine => ("kubevirt.io", "VirtualMachine", "UPDATE"),
        Target::Pod => ("", "Pod", "CREATE"),
    };
    json!({
        "settings": { "rangeStart": "02:00:00:00:00:00", "rangeEnd": "02:00:00:00:00:0f", "duplicateMacs": "warn" },
        "request": {
            "uid": "fuzz", "operation": operation, "namespace": "prod", "name": "fuzzed",
            "kind": { "group": group, "version": "v1", "kind": kind },
            "resource": { "group": group, "version": "v1", "resource": "fuzzed" },
            "userInfo": { "username": "fuzzer" },
            "object": value, "oldObject": value,
        }
    })
    .to_string()
    .into_bytes()
}

/// Evaluates the payload against the sample cluster and checks what holds for any input:
/// no panic (libFuzzer reports one), a rejection carries a message and a known code, and the
/// answer is a pure function of its input.
pub fn admit(data: &[u8], target: Target) {
    let payload = payload(data, target);
    let cluster = sample_cluster();
    let response = kubemacpool_policy::evaluate(&payload, &cluster);
    check(&response);
    let again = kubemacpool_policy::evaluate(&payload, &cluster);
    assert_eq!(
        serde_json::to_string(&response).unwrap(),
        serde_json::to_string(&again).unwrap(),
        "the same request got two answers"
    );
    // The same object as a Pod UPDATE: at most an index-label repair, never a host call.
    if let Target::Pod = target
        && let Ok(mut update) = serde_json::from_slice::<Value>(&payload)
        && update["request"].is_object()
    {
        update["request"]["operation"] = json!("UPDATE");
        let none = FakeCluster::new();
        let response = kubemacpool_policy::evaluate(update.to_string().as_bytes(), &none);
        check(&response);
        assert!(none.calls().is_empty(), "a Pod UPDATE made a host call");
    }
}

fn check(response: &ValidationResponse) {
    if response.accepted {
        assert!(response.message.is_none() && response.code.is_none());
        if let Some(mutated) = &response.mutated_object {
            assert!(
                mutated.is_object(),
                "mutated object is not an object: {mutated}"
            );
        }
    } else {
        let message = response.message.as_deref().unwrap_or("");
        assert!(!message.is_empty(), "a rejection without a message");
        assert!(
            matches!(response.code, Some(400 | 409 | 500)),
            "unexpected code {:?} for {message}",
            response.code
        );
        assert!(response.mutated_object.is_none());
    }
}
