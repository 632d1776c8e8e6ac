//! The inventory reads listed pods in one pass with a cursor; it must find exactly the MACs
//! serde's view of the pod holds, for any pod shape.

use kubemacpool_policy::inventory::pod;
use kubemacpool_policy::inventory::scan::Cursor;
use kubemacpool_policy::mac::Mac;
use kubemacpool_policy::object::multus;
use proptest::prelude::*;
use serde_json::{Value, json};

const NETWORKS: &str = "k8s.v1.cni.cncf.io/networks";

fn by_cursor(text: &str) -> Vec<Mac> {
    let mut macs = Vec::new();
    pod::read_listed(
        &mut Cursor::new(text.as_bytes()),
        &mut Vec::new(),
        &mut |mac| macs.push(mac),
    )
    .unwrap();
    macs
}

fn text() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z0-9-]{0,8}".prop_map(Value::from),
        Just(Value::from("esc\"aped")),
        Just(Value::Null),
        Just(json!(7)),
    ]
}

fn networks() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(
            r#"[{"name":"a","mac":"02:00:00:00:00:01"},{"name":"b","mac":"02-00-00-00-00-02"}]"#
        )),
        Just(json!(r#"[{"name":"a","mac":"not a mac"},{"name":"b"}]"#)),
        Just(json!("blue, red@eth1")),
        Just(json!("")),
        Just(json!("[{")),
        Just(Value::Null),
        Just(json!(["02:00:00:00:00:03"])),
        Just(json!(r#"[{"name":"tab\there","mac":"02:00:00:00:00:04"}]"#)),
        Just(json!(r#"[{"name":"\u00e9\"q","mac":"02:00:00:00:00:05"}]"#)),
        Just(json!(
            "[{\"name\":\"raw\ttab\",\"mac\":\"02:00:00:00:00:06\"}]"
        )),
    ]
}

fn annotations() -> impl Strategy<Value = Value> {
    (prop::option::of(networks()), any::<bool>(), 0..4u8).prop_map(|(networks, other, shape)| {
        let mut map = json!({ "note": "{\"escaped\": \"json\"}" });
        if other {
            map["k8s.v1.cni.cncf.io/network-status"] = json!("[]");
        }
        if let Some(networks) = networks {
            map[NETWORKS] = networks;
        }
        match shape {
            0 => Value::Null,
            1 => json!("not a map"),
            _ => map,
        }
    })
}

fn pod() -> impl Strategy<Value = Value> {
    (text(), text(), annotations(), any::<bool>(), 0..6u8).prop_map(
        |(name, namespace, annotations, owned, shape)| {
            let mut pod = json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": { "name": name, "namespace": namespace, "labels": { "a": "b{" },
                    "annotations": annotations, "managedFields": [{ "f:metadata": {} }] }
            });
            if owned {
                pod["metadata"]["ownerReferences"] =
                    json!([{ "kind": "VirtualMachineInstance", "name": "x" }]);
            }
            match shape {
                0 => pod["metadata"] = Value::Null,
                1 => {
                    pod.as_object_mut().unwrap().remove("metadata");
                }
                2 => pod["metadata"]["ownerReferences"] = json!("odd"),
                _ => {}
            }
            pod
        },
    )
}

proptest! {
    #[test]
    fn the_cursor_reads_what_serde_reads(pod in pod(), pretty in any::<bool>(), edit in 0..4u8) {
        let mut text = if pretty { serde_json::to_string_pretty(&pod).unwrap() } else { pod.to_string() };
        match edit {
            // A field given twice: serde refuses the pod, so the cursor must not read it either.
            1 => text = text.replacen("\"namespace\":", "\"namespace\":\"x\",\"namespace\":", 1),
            // An escaped key that spells the Multus key.
            2 => text = text.replacen(&format!("\"{NETWORKS}\""), "\"k8s.v1.cni.cncf.io\\/networks\"", 1),
            // The Multus key twice: the last value counts.
            3 => text = text.replacen(&format!("\"{NETWORKS}\":"), &format!("\"{NETWORKS}\":null,\"{NETWORKS}\":"), 1),
            _ => {}
        }
        let expected = pod::by_serde(text.as_bytes());
        if let Ok(token) = pod::read(&mut Cursor::new(text.as_bytes())) {
            let mut buffer = Vec::new();
            let read: Vec<Mac> = token
                .and_then(|token| pod::annotation(token, &mut buffer))
                .map(|n| multus::held_macs(&n).collect())
                .unwrap_or_default();
            prop_assert_eq!(Some(read), expected.clone());
        }
        prop_assert_eq!(by_cursor(&text), expected.unwrap_or_default());
    }
}

#[test]
fn a_plain_pod_is_read_in_one_pass() {
    let text = json!({ "metadata": { "name": "p", "namespace": "prod", "annotations": {
        NETWORKS: r#"[{"name":"a","mac":"02:00:00:00:00:01"}]"#, "other": "x" } } })
    .to_string();
    let token = pod::read(&mut Cursor::new(text.as_bytes()))
        .unwrap()
        .unwrap();
    let mut buffer = Vec::new();
    let networks = pod::annotation(token, &mut buffer).unwrap();
    assert_eq!(networks, r#"[{"name":"a","mac":"02:00:00:00:00:01"}]"#);
    assert!(
        matches!(networks, std::borrow::Cow::Borrowed(_)),
        "unescaped in the buffer, not by serde"
    );
    assert_eq!(by_cursor(&text), [Mac::parse("02:00:00:00:00:01").unwrap()]);
}
