//! Tests of the inventory: the structural scanner, the readers of listed Pods and VMs, and what the lists add up to (behaviour.md section 7), kept apart from the code.

/// The structural scan that finds each inventory item without parsing it.
mod scan {

    use crate::inventory::scan::list_items;
    use rstest::rstest;

    fn items(payload: &str) -> Result<Vec<&str>, String> {
        let mut found = Vec::new();
        list_items(payload.as_bytes(), |range| found.push(&payload[range]))
            .map_err(|e| e.to_string())?;
        Ok(found)
    }

    #[test]
    fn every_item_is_found_whole_whatever_it_holds() {
        let payload = r#"{"apiVersion":"v1","kind":"PodList","metadata":{"x":[1,{"y":"]}"}]},"items":[{"a":"b\"}]","c":[{},[]]},"str",12.5e3,null,true,[1,[2]]],"tail":{}}"#;
        assert_eq!(
            items(payload).unwrap(),
            [
                r#"{"a":"b\"}]","c":[{},[]]}"#,
                r#""str""#,
                "12.5e3",
                "null",
                "true",
                "[1,[2]]"
            ]
        );
    }

    #[test]
    fn blanks_between_tokens_are_allowed() {
        assert_eq!(
            items(" { \"items\" : [ {\"a\" : 1} ,\n\t2 ] } ").unwrap(),
            [r#"{"a" : 1}"#, "2"]
        );
    }

    #[rstest]
    #[case::no_items(r#"{"kind":"List"}"#)]
    #[case::null_items(r#"{"items":null}"#)]
    #[case::empty_items(r#"{"items":[]}"#)]
    #[case::empty_object("{}")]
    fn a_list_without_items_has_none(#[case] payload: &str) {
        assert_eq!(items(payload).unwrap(), Vec::<&str>::new());
    }

    #[rstest]
    #[case::not_json("<html>")]
    #[case::an_array("[]")]
    #[case::truncated_item(r#"{"items":[{"a":"b"#)]
    #[case::truncated_list(r#"{"items":[{"a":1}"#)]
    #[case::trailing_backslash(r#"{"items":["\"#)]
    #[case::missing_colon(r#"{"items" [1]}"#)]
    #[case::empty("")]
    fn a_payload_that_is_not_a_list_is_an_error(#[case] payload: &str) {
        assert!(items(payload).is_err(), "{payload}");
    }

    proptest::proptest! {
        /// Whatever the bytes, the scan ends without panicking.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = list_items(&bytes, |_| {});
        }

        /// For any JSON list, the items the scan finds parse to the items serde finds.
        #[test]
        fn the_scan_agrees_with_serde(values in proptest::collection::vec(arbitrary_json(), 0..8)) {
            let payload = serde_json::json!({ "kind": "List", "items": values }).to_string();
            let mut found = Vec::new();
            list_items(payload.as_bytes(), |range| {
                found.push(serde_json::from_str::<serde_json::Value>(&payload[range]).unwrap())
            }).unwrap();
            proptest::prop_assert_eq!(found, values);
        }
    }

    fn arbitrary_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            "[\\PC\"\\\\\\[\\]{}]{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map("[a-z\"\\]]{0,4}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }
}

/// The inventory reads listed pods in one pass with a cursor; it must find exactly the MACs
/// serde's view of the pod holds, for any pod shape.
mod listed_pod {

    use crate::inventory::pod;
    use crate::inventory::scan::Cursor;
    use crate::mac::Mac;
    use crate::object::multus;
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
        (prop::option::of(networks()), any::<bool>(), 0..4u8).prop_map(
            |(networks, other, shape)| {
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
            },
        )
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
}

/// The inventory reads listed VMs in one pass with a cursor; it must find exactly the MACs
/// serde's view of the VM holds, for any VM shape.
mod listed_vm {

    use crate::inventory::scan::Cursor;
    use crate::inventory::vm::{self, VmReader};
    use crate::mac::Mac;
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
    #[case::masked(
        r#"{"template":{"spec":{"domain":{"devices":{"interfaces":[I]}},"networks":[N]}}}"#
    )]
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
}

/// behaviour.md section 7: what the cluster's objects hold, and bad data in them skipped.
mod inventory {

    use crate::inventory::{Inventory, Needs};
    use crate::mac::Mac;
    use crate::object::owner::{Identity, Kind};
    use crate::settings::InventoryMode;
    use crate::testing::FakeCluster;
    use crate::testing::objects::*;
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
    /// lists (its label selectors, tests/behaviour/virtual_machine.rs), never how an item is read. The pods
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
}
