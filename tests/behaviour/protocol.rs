//! `kubemacpool_policy::protocol` is what the tooling takes instead of copies (behaviour.md
//! sections 6, 7 and 7.1): it must say what the policy does. On an empty cluster the policy's
//! first MAC for an object is where `search_start` says the search starts, in the block
//! `object_block` names (both given the cluster's seed), and the calls it makes are the
//! protocol's `seed_request`, then `VM_LIST` and `POD_LIST` with the protocol's selectors.

use kubemacpool_policy::protocol::{
    self, Kind, LEGACY_POD_SELECTOR, LEGACY_VM_SELECTOR, POD_LIST, SPAN_LABEL_PREFIX, VM_LIST,
};
use kubemacpool_policy::settings::Settings;
use kubemacpool_policy::testing::{CLUSTER_UID, Call, MemoryCluster};
use serde_json::json;

use crate::common::*;

/// The default settings with the seed an admission derives on the test doubles' cluster.
fn seeded() -> Settings {
    Settings {
        seed: CLUSTER_UID.to_string(),
        ..Settings::default()
    }
}

#[test]
fn search_start_and_object_block_are_where_the_policy_allocates() {
    let settings = seeded();
    for name in ["vm-demo", "a", "tenant-07-web-3"] {
        let object = vm(
            "ns",
            name,
            vec![iface("eth0", "masquerade", None)],
            vec![pod_net("eth0")],
        );
        let cluster = MemoryCluster::new(vec![], vec![]);
        let response = run(
            &review("VirtualMachine", "CREATE", &object, None, json!({})),
            &cluster,
        );
        let allocated = vm_mac(mutated(&response), 0).unwrap().to_string();
        let start = protocol::search_start(&settings, Kind::VirtualMachine, "ns", name, "eth0");
        assert_eq!(
            Some(allocated.clone()),
            start.map(|m| m.to_string()),
            "{name}"
        );
        let block = protocol::object_block(&settings, Kind::VirtualMachine, "ns", name).unwrap();
        assert_eq!(format!("{block:02x}"), allocated.split(':').nth(4).unwrap());
        let label = protocol::span_label(Kind::VirtualMachine, block);
        assert!(label.starts_with(SPAN_LABEL_PREFIX));
        assert_eq!(mutated(&response)["metadata"]["labels"][&label], json!(""));
    }
}

#[test]
fn the_lists_the_policy_makes_are_the_protocols() {
    let object = vm(
        "ns",
        "vm-demo",
        vec![iface("eth0", "masquerade", None)],
        vec![pod_net("eth0")],
    );
    let cluster = MemoryCluster::new(vec![], vec![]);
    run(
        &review("VirtualMachine", "CREATE", &object, None, json!({})),
        &cluster,
    );
    let block = protocol::object_block(&seeded(), Kind::VirtualMachine, "ns", "vm-demo").unwrap();
    let (vm_span, pod_span) = (
        protocol::span_label(Kind::VirtualMachine, block),
        protocol::span_label(Kind::Pod, block),
    );
    let expected = [
        (&VM_LIST, vm_span.as_str()),
        (&POD_LIST, pod_span.as_str()),
        (&VM_LIST, LEGACY_VM_SELECTOR),
        (&POD_LIST, LEGACY_POD_SELECTOR),
    ];
    let calls = cluster.calls();
    let seed = protocol::seed_request();
    assert_eq!(
        calls[0],
        Call::Get {
            api_version: seed.api_version,
            kind: seed.kind,
            namespace: seed.namespace,
            name: seed.name,
        }
    );
    let calls = &calls[1..];
    assert_eq!(calls.len(), expected.len(), "{calls:?}");
    for (call, (list, selector)) in calls.iter().zip(expected) {
        let request = list.request(Some(selector));
        assert_eq!(
            call,
            &Call::ListAll {
                api_version: request.api_version,
                kind: request.kind,
                label_selector: request.label_selector,
                field_masks: request.field_masks.into_iter().flatten().collect(),
            }
        );
    }
}
