//! Whole admissions: a payload built from the input, evaluated against the sample cluster,
//! and the checks every response must pass whatever the input.

use kubewarden_policy_sdk::response::ValidationResponse;
use serde_json::{Value, json};

use kubemacpool_policy::mac::Mac;
use kubemacpool_policy::testing::FakeCluster;

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
    never_the_reserved_address(&payload, &response);
    let again = kubemacpool_policy::evaluate(&payload, &cluster);
    assert_eq!(
        serde_json::to_string(&response).unwrap(),
        serde_json::to_string(&again).unwrap(),
        "the same request got two answers"
    );
    if let Target::Pod = target
        && let Ok(request) = serde_json::from_slice::<Value>(&payload)
        && request["request"].is_object()
    {
        pod_updates(&request, &response);
    }
}

const NETWORKS: &str = "k8s.v1.cni.cncf.io/networks";

fn networks(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/annotations")?
        .get(NETWORKS)?
        .as_str()
}

fn with_networks(object: &Value, value: &str) -> Value {
    let mut object = object.clone();
    object["metadata"]["annotations"][NETWORKS] = json!(value);
    object
}

/// The UPDATEs behaviour.md 4.1 makes of a Pod request and its answer, checked for any input:
/// - the same object again: at most an index-label repair, never a host call;
/// - A's object with the original value written back (a re-apply): A exactly, no host call;
/// - A's value plus a hotplugged element: the other elements keep their MACs, the new one
///   gets none that A holds.
fn pod_updates(request: &Value, answer: &ValidationResponse) {
    let evaluate = |object: &Value, old: &Value, cluster: &dyn Fn(&[u8]) -> ValidationResponse| {
        let mut update = request.clone();
        update["request"]["operation"] = json!("UPDATE");
        update["request"]["object"] = object.clone();
        update["request"]["oldObject"] = old.clone();
        let response = cluster(update.to_string().as_bytes());
        check(&response);
        response
    };
    let object = &request["request"]["object"];
    let none = FakeCluster::new();
    let on_none = |payload: &[u8]| kubemacpool_policy::evaluate(payload, &none);
    evaluate(object, object, &on_none);
    assert!(
        none.calls().is_empty(),
        "an unchanged Pod UPDATE made a host call"
    );

    let (Some(created), Some(original)) = (&answer.mutated_object, networks(object)) else {
        return;
    };
    // A launcher pod's re-apply looks its VM up first (4.1 step 2).
    if created.pointer("/metadata/ownerReferences").is_some() || !answer.accepted {
        return;
    }
    let reapplied = with_networks(created, original);
    let response = evaluate(&reapplied, created, &on_none);
    assert!(none.calls().is_empty(), "a re-apply made a host call");
    assert!(
        response.accepted,
        "a re-apply was refused: {:?}",
        response.message
    );
    let after = response.mutated_object.as_ref().unwrap_or(&reapplied);
    assert_eq!(
        after, created,
        "a re-apply did not restore the CREATE answer"
    );

    let Some(held) = networks(created) else {
        return;
    };
    let Ok(mut elements) = serde_json::from_str::<Vec<Value>>(held) else {
        return;
    };
    let before: Vec<Option<Mac>> = elements.iter().map(mac_of).collect();
    elements.push(json!({ "name": "fuzz-hotplug", "interface": "fuzz9" }));
    let plugged = with_networks(created, &Value::from(elements).to_string());
    let cluster = sample_cluster();
    let on_cluster = |payload: &[u8]| kubemacpool_policy::evaluate(payload, &cluster);
    let response = evaluate(&plugged, created, &on_cluster);
    if let Some(result) = response
        .mutated_object
        .as_ref()
        .filter(|_| response.accepted)
    {
        let after: Vec<Option<Mac>> = networks(result)
            .and_then(|n| serde_json::from_str::<Vec<Value>>(n).ok())
            .unwrap_or_default()
            .iter()
            .map(mac_of)
            .collect();
        assert_eq!(
            after[..before.len()],
            before[..],
            "a hotplug changed another element's MAC"
        );
        let new = after[before.len()];
        assert!(new.is_some(), "the hotplugged element got no MAC");
        assert!(
            !before.contains(&new),
            "the hotplug took a MAC the pod holds"
        );
    }
}

fn mac_of(element: &Value) -> Option<Mac> {
    Mac::parse(element.get("mac")?.as_str()?).ok()
}

/// Every MAC in the answer's object that the request's object did not hold, with its text, is
/// an allocated one: never `02:00:00:00:00:00` (behaviour.md section 3), and the warnings are
/// the `duplicate-mac` audit annotation (section 6).
fn never_the_reserved_address(payload: &[u8], response: &ValidationResponse) {
    const RESERVED: &str = "02:00:00:00:00:00";
    let warnings = response.warnings.clone().unwrap_or_default();
    let annotation = response
        .audit_annotations
        .as_ref()
        .and_then(|a| a.get("duplicate-mac"))
        .cloned();
    assert_eq!(
        annotation,
        (!warnings.is_empty()).then(|| warnings.join("; ")),
        "the duplicate-mac audit annotation is not the warnings"
    );
    let Some(mutated) = &response.mutated_object else {
        return;
    };
    let request = serde_json::from_slice::<Value>(payload).unwrap_or(Value::Null);
    let given = request
        .pointer("/request/object")
        .map(Value::to_string)
        .unwrap_or_default();
    let answered = mutated.to_string();
    assert!(
        !answered.contains(RESERVED) || given.contains(RESERVED),
        "the reserved address was allocated: {answered}"
    );
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
