//! The inventory reads listed VMs in one pass with a cursor; it must find exactly the MACs
//! serde's view of the VM holds, for any VM shape.

use kubemacpool_policy::inventory::scan::Cursor;
use kubemacpool_policy::inventory::vm::{self, VmReader};
use kubemacpool_policy::mac::Mac;
use proptest::prelude::*;
use serde_json::{Value, json};

fn name() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z0-9-]{0,8}".prop_map(Value::from),
        Just(Value::from("esc\"aped\\name")),
        Just(Value::from("blue")),
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
    fn the_cursor_reads_what_serde_reads(vm in vm(), pretty in any::<bool>(), twice in any::<bool>()) {
        let mut text = if pretty { serde_json::to_string_pretty(&vm).unwrap() } else { vm.to_string() };
        if twice {
            // A key given twice: serde refuses the VM, so the cursor must not read it either.
            text = text.replacen("\"name\":", "\"name\":\"x\",\"name\":", 1);
        }
        let expected = vm::by_serde(text.as_bytes());
        let mut reader = VmReader::default();
        if reader.read(&mut Cursor::new(text.as_bytes())).is_ok() {
            prop_assert_eq!(Some(reader.macs().collect::<Vec<_>>()), expected.clone());
        }
        let mut listed = Vec::new();
        reader.read_listed(&mut Cursor::new(text.as_bytes()), |mac| listed.push(mac)).unwrap();
        prop_assert_eq!(listed, expected.unwrap_or_default());
    }
}

#[test]
fn a_plain_vm_is_read_in_one_pass_and_one_with_an_escaped_key_by_serde() {
    let vm = json!({
        "metadata": { "name": "db", "namespace": "prod" },
        "spec": { "template": { "spec": {
            "domain": { "devices": { "interfaces": [
                { "name": "default", "masquerade": {}, "macAddress": "02:00:00:00:00:01" },
                { "name": "blue", "bridge": {}, "macAddress": "02-00-00-00-00-02" },
                { "name": "red", "bridge": {}, "macAddress": "02:00:00:00:00:03" }
            ] } },
            "networks": [ { "name": "default", "pod": {} }, { "name": "blue", "multus": {} }, { "name": "red", "pod": {} } ]
        } } }
    })
    .to_string();
    let mut reader = VmReader::default();
    assert!(reader.read(&mut Cursor::new(vm.as_bytes())).is_ok());
    let expected = ["02:00:00:00:00:01", "02:00:00:00:00:02"].map(|m| Mac::parse(m).unwrap());
    assert_eq!(reader.macs().collect::<Vec<_>>(), expected);

    // An escaped value is only skipped; an escaped key could spell `deletionTimestamp`.
    let escaped_value = vm.replace("\"db\"", "\"d\\u0062\"");
    assert!(
        reader
            .read(&mut Cursor::new(escaped_value.as_bytes()))
            .is_ok()
    );
    assert_eq!(reader.macs().collect::<Vec<_>>(), expected);
    let escaped = vm.replace("\"namespace\"", "\"n\\u0061mespace\"");
    assert!(reader.read(&mut Cursor::new(escaped.as_bytes())).is_err());
    let mut listed = Vec::new();
    reader
        .read_listed(&mut Cursor::new(escaped.as_bytes()), |mac| listed.push(mac))
        .unwrap();
    assert_eq!(listed, expected);
}

/// The spec as policy-server writes it under the field masks is matched as literals around
/// the two lists; any other form (a member more, a key twice, blanks) is read member by
/// member, with the same result as serde.
#[rstest::rstest]
#[case::masked(r#"{"template":{"spec":{"domain":{"devices":{"interfaces":[I]}},"networks":[N]}}}"#)]
#[case::a_member_more(r#"{"template":{"spec":{"domain":{"devices":{"interfaces":[I]}},"networks":[N],"x":{"y":[]}}}}"#)]
#[case::a_member_before(r#"{"template":{"metadata":{},"spec":{"domain":{"devices":{"interfaces":[I]}},"networks":[N]}}}"#)]
#[case::template_twice(r#"{"template":{"spec":{"domain":{"devices":{"interfaces":[I]}},"networks":[N]}},"template":null}"#)]
#[case::networks_twice(r#"{"template":{"spec":{"domain":{"devices":{"interfaces":[I]}},"networks":[N],"networks":[]}}}"#)]
#[case::networks_first(
    r#"{"template":{"spec":{"networks":[N],"domain":{"devices":{"interfaces":[I]}}}}}"#
)]
#[case::blanks(
    r#"{ "template": {"spec":{"domain":{"devices":{"interfaces":[I]}},"networks":[N]}}}"#
)]
#[case::null_networks(
    r#"{"template":{"spec":{"domain":{"devices":{"interfaces":[I]}},"networks":null}}}"#
)]
fn the_masked_spec_and_every_other_form_read_as_serde_reads_them(#[case] spec: &str) {
    let spec = spec
        .replace(
            'I',
            r#"{"bridge":{},"macAddress":"02:00:00:00:00:07","name":"blue"}"#,
        )
        .replace('N', r#"{"multus":{"networkName":"x"},"name":"blue"}"#);
    let vm = format!(
        r#"{{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachine","metadata":{{"name":"a"}},"spec":{spec}}}"#
    );
    let expected = vm::by_serde(vm.as_bytes());
    let mut reader = VmReader::default();
    // One pass reads exactly what serde reads, or gives way to serde.
    match reader.read(&mut Cursor::new(vm.as_bytes())) {
        Ok(()) => assert_eq!(Some(reader.macs().collect()), expected, "{vm}"),
        Err(_) => assert_eq!(expected, None, "{vm}"),
    }
    let mut listed = Vec::new();
    reader
        .read_listed(&mut Cursor::new(vm.as_bytes()), |mac| listed.push(mac))
        .unwrap();
    assert_eq!(listed, expected.unwrap_or_default(), "{vm}");
}
