//! The inventory reads listed VMs in one pass with a cursor; it must read exactly what serde
//! reads, for any VM shape.

use kubemacpool_policy::virtual_machine::interfaces::VirtualMachineView;
use proptest::prelude::*;
use serde_json::{Value, json};

/// A NIC as the inventory sees it: name, MAC as written, eligible.
type NicSummary = (String, Option<String>, bool);

/// What the inventory uses of a VM.
fn summary(vm: &VirtualMachineView<'_>) -> (String, String, bool, Vec<NicSummary>) {
    (
        vm.metadata.name.to_string(),
        vm.metadata.namespace.to_string(),
        vm.metadata.deletion_timestamp.is_some(),
        vm.nics()
            .iter()
            .map(|n| (n.name.to_string(), n.mac.map(str::to_string), n.eligible))
            .collect(),
    )
}

fn name() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z0-9-]{0,8}".prop_map(Value::from),
        Just(Value::from("esc\"aped\\name")),
        Just(Value::from("ünï")),
        Just(Value::Null),
        Just(json!(7)),
    ]
}

fn interface() -> impl Strategy<Value = Value> {
    let mac = prop_oneof![
        Just(json!("02:00:00:00:00:01")),
        Just(json!("02-00-00-00-00-02")),
        Just(Value::Null),
        Just(json!("")),
    ];
    let binding = prop_oneof![Just("masquerade"), Just("bridge"), Just("sriov")];
    (name(), prop::option::of(mac), binding, any::<bool>()).prop_map(
        |(name, mac, binding, null_binding)| {
            let value = if null_binding {
                Value::Null
            } else {
                json!({ "x": [1, "]}"] })
            };
            let mut interface = json!({ "name": name, binding: value });
            if let Some(mac) = mac {
                interface["macAddress"] = mac;
            }
            interface
        },
    )
}

fn network() -> impl Strategy<Value = Value> {
    (name(), any::<bool>()).prop_map(|(name, multus)| {
        if multus {
            json!({ "name": name, "multus": { "networkName": "x" } })
        } else {
            json!({ "name": name, "pod": {} })
        }
    })
}

fn vm() -> impl Strategy<Value = Value> {
    (
        name(),
        name(),
        any::<bool>(),
        prop::collection::vec(interface(), 0..4),
        prop::collection::vec(network(), 0..4),
        0..5u8,
    )
        .prop_map(|(name, namespace, deleting, interfaces, networks, shape)| {
            let mut vm = json!({
                "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                "metadata": { "name": name, "namespace": namespace, "labels": { "a": "b{" }, "managedFields": [] },
                "spec": { "template": { "spec": {
                    "domain": { "devices": { "interfaces": interfaces } }, "networks": networks } } }
            });
            if deleting {
                vm["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
            }
            match shape {
                0 => {}
                1 => vm["spec"]["template"]["spec"]["networks"] = Value::Null,
                2 => vm["spec"]["template"] = Value::Null,
                3 => vm["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"] = json!("eth0"),
                _ => vm["metadata"] = Value::Null,
            }
            vm
        })
}

proptest! {
    #[test]
    fn the_cursor_reads_what_serde_reads(vm in vm(), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_string_pretty(&vm).unwrap() } else { vm.to_string() };
        let by_serde = serde_json::from_str::<VirtualMachineView>(&text).ok();
        let listed = VirtualMachineView::from_listed(text.as_bytes());
        prop_assert_eq!(listed.as_ref().map(summary), by_serde.as_ref().map(summary));
    }
}
