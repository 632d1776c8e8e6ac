//! The README's examples are what the policy answers: its VirtualMachine and Pod "After" blocks
//! are checked against the policy's answer to `test_data/vm-create.json` and
//! `test_data/pod-create.json` with the default settings, against the sample cluster of their
//! replay sessions (`test_data/session-indexed-*.yml`): what `make demo` prints.

use std::fs;

use kubemacpool_policy::testing::FakeCluster;
use serde_json::{Value, json};

/// A host that gives the answers a kwctl replay session holds, in its order; the seed's
/// `kube-system` Namespace, which the double answers apart, from its exchange.
fn replay(session: &str) -> FakeCluster {
    let text = fs::read_to_string(session).unwrap();
    let exchanges: Vec<serde_yaml::Value> = serde_yaml::from_str(&text).unwrap();
    exchanges
        .iter()
        .fold(FakeCluster::new(), |cluster, exchange| {
            let response = &exchange["response"];
            let answer = match response["type"].as_str() {
                Some("Success") => Ok(response["payload"].as_str().unwrap().to_string()),
                Some("Error") => Err(response["message"].as_str().unwrap().to_string()),
                other => panic!("{session}: a response of type {other:?}"),
            };
            let request = exchange["request"].as_str().unwrap_or_default();
            if request.contains("!KubernetesGetResource") && request.contains("kind: Namespace") {
                cluster.with_kube_system(answer.map(String::into_bytes))
            } else {
                cluster.then(answer.map(String::into_bytes))
            }
        })
}

/// The object the policy makes of `test_data/<name>.json`, default settings.
fn answer(name: &str) -> Value {
    let request: Value =
        serde_json::from_str(&fs::read_to_string(format!("test_data/{name}.json")).unwrap())
            .unwrap();
    let payload = serde_json::to_vec(&json!({ "settings": {}, "request": request })).unwrap();
    let cluster = replay(&format!("test_data/session-indexed-{name}.yml"));
    let response = kubemacpool_policy::evaluate(&payload, &cluster);
    assert!(response.accepted, "{name}: {:?}", response.message);
    assert_eq!(cluster.pending(), 0, "{name}: answers left unused");
    response
        .mutated_object
        .unwrap_or_else(|| panic!("{name}: not mutated"))
}

/// The first YAML block after "After" in the README section headed `heading`.
fn after_block(heading: &str) -> Value {
    let readme = fs::read_to_string("README.md").unwrap();
    let section = readme
        .split(&format!("\n{heading}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("README.md has no section {heading}"));
    let after = section
        .split("\nAfter")
        .nth(1)
        .unwrap_or_else(|| panic!("{heading}: no After example"));
    let block = after
        .split("```yaml\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .unwrap_or_else(|| panic!("{heading}: no YAML block after After"));
    serde_yaml::from_str(block).unwrap()
}

/// Where `shown` says something that `actual` does not: every key and value the README shows
/// must be in the answer, lists element by element.
fn differences(shown: &Value, actual: &Value, at: &str, out: &mut Vec<String>) {
    match (shown, actual) {
        (Value::Object(shown), Value::Object(actual)) => {
            for (key, value) in shown {
                match actual.get(key) {
                    Some(actual) => differences(value, actual, &format!("{at}.{key}"), out),
                    None => out.push(format!("{at}.{key}: not in the answer")),
                }
            }
        }
        (Value::Array(shown), Value::Array(actual)) if shown.len() == actual.len() => {
            for (i, (shown, actual)) in shown.iter().zip(actual).enumerate() {
                differences(shown, actual, &format!("{at}[{i}]"), out);
            }
        }
        _ if shown == actual => {}
        _ => out.push(format!(
            "{at}: the README shows {shown}, the policy answers {actual}"
        )),
    }
}

fn check(heading: &str, name: &str) {
    let shown = after_block(heading);
    let actual = answer(name);
    let mut problems = Vec::new();
    differences(&shown, &actual, "", &mut problems);
    // The labels are shown whole: a label the policy writes and the README leaves out is wrong too.
    if shown["metadata"]["labels"] != actual["metadata"]["labels"] {
        problems.push(format!(
            ".metadata.labels: the README shows {}, the policy writes {}",
            shown["metadata"]["labels"], actual["metadata"]["labels"]
        ));
    }
    assert!(
        problems.is_empty(),
        "README.md {heading} differs from the policy's answer to test_data/{name}.json:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_readme_vm_example_is_what_the_policy_answers() {
    check("### A VirtualMachine", "vm-create");
}

#[test]
fn the_readme_pod_example_is_what_the_policy_answers() {
    check("### A Pod", "pod-create");
}

#[test]
fn a_readme_example_that_differs_is_found() {
    let mut problems = Vec::new();
    let shown = json!({ "spec": { "ifaces": [{ "mac": "02:00:00:00:00:01" }] } });
    let actual = json!({ "spec": { "ifaces": [{ "mac": "02:00:00:00:00:02", "name": "a" }] } });
    differences(&shown, &actual, "", &mut problems);
    assert_eq!(
        problems,
        [
            ".spec.ifaces[0].mac: the README shows \"02:00:00:00:00:01\", the policy answers \"02:00:00:00:00:02\""
        ]
    );
}
