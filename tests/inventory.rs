//! behaviour.md section 7: what the cluster's objects hold, and bad data in them skipped.

mod common;

use common::*;
use kubemacpool_policy::host::FakeCluster;
use kubemacpool_policy::inventory::{Inventory, Needs};
use kubemacpool_policy::mac::Mac;
use kubemacpool_policy::object::owner::{Identity, Kind};
use kubemacpool_policy::settings::InventoryMode;
use serde_json::json;

fn load(vms: &str, pods: &str) -> Inventory {
    let cluster = FakeCluster::new().then_ok(vms).then_ok(pods);
    Inventory::load_for(
        &cluster,
        InventoryMode::All,
        &Needs {
            blocks: vec![],
            allocates: true,
        },
    )
    .unwrap()
}

/// What the inventory holds, once per holder; the order is the host's and means nothing.
fn macs(inventory: &Inventory) -> Vec<String> {
    let mut macs: Vec<String> = inventory.macs().map(|m| m.to_string()).collect();
    macs.sort();
    macs
}

const NOBODY: Identity<'static> = Identity {
    family: Kind::Pod,
    namespace: "",
    name: "",
};

#[test]
fn a_vm_holds_the_macs_of_its_eligible_interfaces_only() {
    let object = vm(
        "ns",
        "vm",
        vec![
            iface("default", "bridge", Some("02:00:00:00:00:01")),
            iface("blue", "bridge", Some("02:00:00:00:00:02")),
            iface("red", "masquerade", Some("02:00:00:00:00:03")),
        ],
        vec![pod_net("default"), multus_net("blue")],
    );
    assert_eq!(
        macs(&load(&list(&[object]), &list(&[]))),
        ["02:00:00:00:00:02", "02:00:00:00:00:03"]
    );
}

#[test]
fn a_vm_being_deleted_holds_nothing() {
    let mut object = vm(
        "ns",
        "vm",
        vec![iface("blue", "bridge", Some("02:00:00:00:00:02"))],
        vec![multus_net("blue")],
    );
    object["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    assert!(macs(&load(&list(&[object]), &list(&[]))).is_empty());
}

#[test]
fn a_pod_holds_its_annotation_macs_in_any_phase() {
    let mut object = pod(
        "ns",
        "p",
        Some(r#"[{"name":"a","mac":"02:00:00:00:00:09"}]"#),
        None,
    );
    object["status"] = json!({ "phase": "Succeeded" });
    assert_eq!(
        macs(&load(&list(&[]), &list(&[object]))),
        ["02:00:00:00:00:09"]
    );
}

#[test]
fn items_with_wrong_typed_fields_are_skipped_and_the_rest_is_read() {
    let good = pod(
        "ns",
        "good",
        Some(r#"[{"name":"a","mac":"02:00:00:00:00:01"}]"#),
        None,
    );
    let pods = list(&[
        json!({ "metadata": { "name": 5, "annotations": { NETWORKS: r#"[{"name":"a","mac":"02:00:00:00:00:02"}]"# } } }),
        json!({ "metadata": { "name": "x", "annotations": { NETWORKS: 17 } } }),
        json!({ "metadata": "not an object" }),
        json!("not an object either"),
        json!({ "metadata": { "name": "y", "annotations": { NETWORKS: "[not json" } } }),
        json!({}),
        good,
    ]);
    let good_vm = vm(
        "ns",
        "vm",
        vec![iface("blue", "bridge", Some("02:00:00:00:00:03"))],
        vec![multus_net("blue")],
    );
    let vms = list(&[
        json!({ "metadata": { "name": "bad" }, "spec": { "template": { "spec": { "domain": { "devices": { "interfaces": "eth0" } } } } } }),
        json!({ "metadata": { "name": "bad2" }, "spec": { "template": { "spec": { "networks": [{ "name": ["x"] }] } } } }),
        good_vm,
    ]);
    assert_eq!(
        macs(&load(&vms, &pods)),
        ["02:00:00:00:00:01", "02:00:00:00:00:03"]
    );
}

#[test]
fn a_list_with_null_items_is_empty() {
    assert!(macs(&load(r#"{"items":null}"#, r#"{"kind":"PodList"}"#)).is_empty());
}

#[test]
fn holders_are_sorted_by_kind_namespace_and_name_whatever_the_listing_order() {
    let holder = |ns: &str, name: &str| {
        pod(
            ns,
            name,
            Some(r#"[{"name":"a","mac":"02:00:00:00:00:01"}]"#),
            None,
        )
    };
    let inventory = load(
        &list(&[]),
        &list(&[holder("b", "z"), holder("a", "y"), holder("b", "a")]),
    );
    let owners: Vec<String> = inventory
        .other_holders(Mac::parse("02:00:00:00:00:01").unwrap(), &NOBODY)
        .iter()
        .map(|o| o.to_string())
        .collect();
    assert_eq!(owners, ["Pod a/y", "Pod b/a", "Pod b/z"]);
}

#[test]
fn a_vm_and_its_launcher_pods_are_one_owner() {
    let vm_object = vm(
        "ns",
        "db",
        vec![iface("blue", "bridge", Some("02:00:00:00:00:01"))],
        vec![multus_net("blue")],
    );
    let launcher = pod(
        "ns",
        "virt-launcher-db-x",
        Some(r#"[{"name":"a","mac":"02:00:00:00:00:01"}]"#),
        Some("db"),
    );
    let stranger = pod(
        "other",
        "virt-launcher-db-x",
        Some(r#"[{"name":"a","mac":"02:00:00:00:00:01"}]"#),
        Some("db"),
    );
    let inventory = load(&list(&[vm_object]), &list(&[launcher, stranger]));
    let me = Identity {
        family: Kind::VirtualMachine,
        namespace: "ns",
        name: "db",
    };
    let others: Vec<String> = inventory
        .other_holders(Mac::parse("02:00:00:00:00:01").unwrap(), &me)
        .iter()
        .map(|o| o.to_string())
        .collect();
    assert_eq!(others, ["Pod other/virt-launcher-db-x"]);
}

/// Every mode reads the same MACs from the same lists: what a mode changes is what the host
/// lists (its label selectors, tests/virtual_machine.rs), never how an item is read. The pods
/// a label selector lists are each read in full; `all` searches every pod for the Multus key.
#[test]
fn every_inventory_mode_reads_the_same_macs_from_the_same_lists() {
    let vms = list(&[vm(
        "ns",
        "vm",
        vec![iface("blue", "bridge", Some("02:00:00:00:00:02"))],
        vec![multus_net("blue")],
    )]);
    let pods = list(&[
        pod(
            "ns",
            "standalone",
            Some(r#"[{"name":"blue","mac":"02:00:00:00:00:05"}]"#),
            None,
        ),
        pod(
            "ns",
            "virt-launcher-vm-x",
            Some(r#"[{"name":"blue","mac":"02:00:00:00:00:02"}]"#),
            Some("vm"),
        ),
        pod("ns", "plain", None, None),
    ]);
    for mode in [
        InventoryMode::PodsTracked,
        InventoryMode::All,
        InventoryMode::Tracked,
    ] {
        let cluster = FakeCluster::new()
            .then_ok(vms.as_str())
            .then_ok(pods.as_str());
        let inventory = Inventory::load_for(
            &cluster,
            mode,
            &Needs {
                blocks: vec![],
                allocates: true,
            },
        )
        .unwrap();
        assert_eq!(
            macs(&inventory),
            [
                "02:00:00:00:00:02",
                "02:00:00:00:00:02",
                "02:00:00:00:00:05"
            ],
            "{mode}"
        );
    }
}
