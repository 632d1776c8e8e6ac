//! behaviour.md 4.1 as properties, for whatever manifest, settings and cluster proptest draws:
//! for every Pod CREATE answer A,
//! - the UPDATE from A's object back to the manifest (a re-apply, a GitOps sync) restores
//!   exactly A's annotation and labels, with no host call;
//! - a second re-apply changes nothing;
//! - a network hotplugged into the manifest never gets a MAC the stored pod holds, and every
//!   other element keeps its MAC;
//! - on every answer the index labels match the MACs the annotation holds.

use std::collections::BTreeSet;

use crate::common::{NETWORKS, pod, span, span_label, spans_labelled};
use kubemacpool_policy::evaluate;
use kubemacpool_policy::mac::Mac;
use kubemacpool_policy::testing::MemoryCluster;
use kubewarden_policy_sdk::response::ValidationResponse;
use proptest::prelude::*;
use serde_json::{Value, json};

const NAMES: [&str; 3] = ["blue", "red", "green"];
const NAMESPACES: [Option<&str>; 3] = [None, Some("default"), Some("team")];
const INTERFACES: [Option<&str>; 3] = [None, Some("net1"), Some("net2")];
const MODES: [&str; 4] = ["indexed", "pods-tracked", "all", "tracked"];
/// A 16-address pool over two blocks, so that allocations collide with the cluster's MACs and
/// the indexed search moves between blocks.
const POOL_START: u64 = 0x0200_0000_00f8;
const POOL_SIZE: u64 = 16;

#[derive(Debug, Clone)]
struct Element {
    name: usize,
    namespace: usize,
    interface: usize,
    /// An offset into the pool for a MAC the manifest gives, `None` for a blank.
    mac: Option<u64>,
}

fn element() -> impl Strategy<Value = Element> {
    (
        0..3usize,
        0..3usize,
        0..3usize,
        prop::option::weighted(0.25, 0..POOL_SIZE),
    )
        .prop_map(|(name, namespace, interface, mac)| Element {
            name,
            namespace,
            interface,
            mac,
        })
}

fn mac_at(offset: u64) -> String {
    Mac::from_u64(POOL_START + offset).to_string()
}

fn manifest(elements: &[Element]) -> String {
    let list: Vec<Value> = elements
        .iter()
        .map(|e| {
            let mut object = json!({ "name": NAMES[e.name] });
            if let Some(ns) = NAMESPACES[e.namespace] {
                object["namespace"] = json!(ns);
            }
            if let Some(interface) = INTERFACES[e.interface] {
                object["interface"] = json!(interface);
            }
            if let Some(mac) = e.mac {
                object["mac"] = json!(mac_at(mac));
            }
            object
        })
        .collect();
    serde_json::to_string(&list).unwrap()
}

/// Pods of the cluster, each holding one pool MAC, labelled as the policy labels them.
fn holders(offsets: &BTreeSet<u64>) -> Vec<Value> {
    offsets
        .iter()
        .map(|&offset| {
            let mac = mac_at(offset);
            let mut holder = pod(
                "other",
                &format!("holder-{offset}"),
                Some(&format!(r#"[{{"name":"blue","mac":"{mac}"}}]"#)),
                None,
            );
            holder["metadata"]["labels"] = json!({
                "kubemacpool.io/tracked": "true",
                "kubemacpool.io/indexed": "v2",
                span_label("Pod", &mac[12..14]): ""
            });
            holder
        })
        .collect()
}

fn review(operation: &str, object: &Value, old: Option<&Value>, settings: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "settings": settings,
        "request": {
            "uid": "9d3c7f0e-2b1a-4c5d-8e6f-0a1b2c3d4e5f",
            "kind": { "group": "", "version": "v1", "kind": "Pod" },
            "resource": { "group": "", "version": "v1", "resource": "pods" },
            "name": "p", "namespace": "default",
            "operation": operation,
            "userInfo": {},
            "object": object,
            "oldObject": old.cloned().unwrap_or(Value::Null),
            "dryRun": false
        }
    }))
    .unwrap()
}

fn with_networks(object: &Value, networks: &str) -> Value {
    let mut object = object.clone();
    object["metadata"]["annotations"][NETWORKS] = json!(networks);
    object
}

/// The object after the answer: the mutated one, or the request's when nothing changed.
fn result_of(response: &ValidationResponse, object: &Value) -> Value {
    assert!(response.accepted, "rejected: {:?}", response.message);
    response
        .mutated_object
        .clone()
        .unwrap_or_else(|| object.clone())
}

fn networks(object: &Value) -> Vec<Value> {
    object["metadata"]["annotations"][NETWORKS]
        .as_str()
        .and_then(|n| serde_json::from_str(n).ok())
        .unwrap_or_default()
}

fn held(object: &Value) -> Vec<Mac> {
    networks(object)
        .iter()
        .filter_map(|e| Mac::parse(e["mac"].as_str()?).ok())
        .collect()
}

/// The index labels say what the annotation holds: a block label per MAC's block and no other,
/// `tracked` and `indexed` when it holds one.
fn assert_labels_match(object: &Value) {
    let macs = held(object);
    let labels = object["metadata"]["labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let spans: BTreeSet<String> = spans_labelled(object).into_iter().collect();
    let wanted: BTreeSet<String> = macs
        .iter()
        .map(|m| span("Pod", &format!("{:02x}", (m.to_u64() >> 8) & 0xff)))
        .collect();
    assert_eq!(spans, wanted, "span labels of {object}");
    if !macs.is_empty() {
        assert_eq!(labels.get("kubemacpool.io/tracked"), Some(&json!("true")));
        assert_eq!(labels.get("kubemacpool.io/indexed"), Some(&json!("v2")));
    }
}

fn check(elements: Vec<Element>, cluster_macs: BTreeSet<u64>, mode: usize, reject: bool) {
    let settings = json!({
        "inventory": MODES[mode],
        "duplicateMacs": if reject { "reject" } else { "warn" },
        "rangeStart": mac_at(0),
        "rangeEnd": mac_at(POOL_SIZE - 1),
    });
    let cluster = MemoryCluster::new(Vec::new(), holders(&cluster_macs));
    let manifest = manifest(&elements);
    let original = pod("default", "p", Some(&manifest), None);

    let created = evaluate(&review("CREATE", &original, None, &settings), &cluster);
    if !created.accepted {
        // A full pool or a refused duplicate: nothing was stored, nothing to re-apply.
        return;
    }
    let mut stored = result_of(&created, &original);
    stored["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"] = json!("[]");
    assert_labels_match(&stored);
    let stored_macs = held(&stored);

    // A re-apply restores A exactly, without a host call.
    let calls_before = cluster.calls().len();
    let reapplied = with_networks(&stored, &manifest);
    let response = evaluate(
        &review("UPDATE", &reapplied, Some(&stored), &settings),
        &cluster,
    );
    let after = result_of(&response, &reapplied);
    assert_eq!(after, stored, "the re-apply restores the stored pod");
    assert_eq!(
        cluster.calls().len(),
        calls_before,
        "a re-apply makes no host call"
    );

    // A second re-apply changes nothing either.
    let again = evaluate(
        &review("UPDATE", &reapplied, Some(&after), &settings),
        &cluster,
    );
    assert_eq!(result_of(&again, &reapplied), stored);
    let unchanged = evaluate(&review("UPDATE", &after, Some(&after), &settings), &cluster);
    assert!(unchanged.accepted && unchanged.mutated_object.is_none());

    // A hotplugged network: a key no element of the manifest has.
    let mut plugged: Vec<Value> = serde_json::from_str(&manifest).unwrap();
    plugged.push(json!({ "name": "hotplug", "interface": "net9" }));
    let plugged = with_networks(&stored, &serde_json::to_string(&plugged).unwrap());
    let response = evaluate(
        &review("UPDATE", &plugged, Some(&stored), &settings),
        &cluster,
    );
    if response.accepted {
        let result = result_of(&response, &plugged);
        let macs = held(&result);
        assert_eq!(
            macs[..stored_macs.len()],
            stored_macs[..],
            "the other elements keep theirs"
        );
        let new = macs[stored_macs.len()];
        assert!(
            !stored_macs.contains(&new),
            "the hotplug took {new}, a MAC the pod holds"
        );
        assert!(new.to_u64() >= POOL_START && new.to_u64() < POOL_START + POOL_SIZE);
        assert_labels_match(&result);
    } else {
        assert_eq!(response.message.as_deref(), Some("the range is full"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_reapplied_or_hotplugged_pod_keeps_its_macs(
        elements in prop::collection::vec(element(), 1..5),
        cluster_macs in prop::collection::btree_set(0..POOL_SIZE, 0..8),
        mode in 0..4usize,
        reject in any::<bool>(),
    ) {
        check(elements, cluster_macs, mode, reject);
    }
}

/// The generator reaches the cases the properties are about: a fixed case with blanks, a given
/// MAC and a taken pool address, whose CREATE is accepted and whose re-apply restores.
#[test]
fn the_generated_cases_reach_a_restore() {
    let elements = vec![
        Element {
            name: 0,
            namespace: 0,
            interface: 1,
            mac: None,
        },
        Element {
            name: 0,
            namespace: 0,
            interface: 1,
            mac: Some(3),
        },
        Element {
            name: 1,
            namespace: 2,
            interface: 0,
            mac: None,
        },
    ];
    let manifest = manifest(&elements);
    assert_eq!(manifest.matches("\"mac\"").count(), 1);
    check(elements, [0, 1, 2].into(), 0, false);
}
