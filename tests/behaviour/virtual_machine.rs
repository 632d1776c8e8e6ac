//! behaviour.md sections 5 and 6 for VirtualMachines: one test per rule.

use crate::common::*;
use kubemacpool_policy::mac::Mac;
use kubemacpool_policy::testing::{Call, FakeCluster};
use rstest::rstest;
use serde_json::{Value, json};

const TRACKED: &str = "kubemacpool.io/tracked=true";
const CREATE_WRAPPER: &str =
    "Failed to create virtual machine allocation error: Failed to allocate mac to the vm object: ";
const UPDATE_WRAPPER: &str = "Failed to update virtual machine allocation error: ";

fn create(
    object: &Value,
    settings: Value,
    cluster: &FakeCluster,
) -> kubewarden_policy_sdk::response::ValidationResponse {
    evaluate(&vm_payload("CREATE", object, None, settings), cluster)
}

fn demo_vm() -> Value {
    vm(
        "default",
        "vm1",
        vec![
            iface("default", "masquerade", None),
            iface("blue", "bridge", None),
        ],
        vec![pod_net("default"), multus_net("blue")],
    )
}

#[test]
fn masquerade_on_the_pod_network_gets_a_mac() {
    let object = vm(
        "default",
        "vm1",
        vec![iface("default", "masquerade", None)],
        vec![pod_net("default")],
    );
    let response = create(&object, json!({}), &empty_cluster());
    let mac = vm_mac(mutated(&response), 0).unwrap();
    assert!(Mac::parse(mac).is_ok());
    assert_eq!(mac, mac.to_lowercase(), "allocated MACs are in normal form");
}

#[test]
fn bridge_on_the_pod_network_gets_no_mac_and_no_inventory_is_read() {
    let object = vm(
        "default",
        "vm1",
        vec![iface("default", "bridge", None)],
        vec![pod_net("default")],
    );
    let cluster = FakeCluster::new();
    let response = create(&object, json!({}), &cluster);
    assert!(response.accepted);
    // Only `indexed` (behaviour.md 7.1: every handled VM), no MAC and so no other label.
    assert_eq!(
        mutated(&response)["metadata"]["labels"],
        json!({ "kubemacpool.io/indexed": "v2" })
    );
    assert_eq!(vm_mac(mutated(&response), 0), None);
    assert!(cluster.calls().is_empty());
}

#[test]
fn passt_slirp_and_binding_plugins_on_the_pod_network_get_no_mac() {
    for binding in ["passt", "slirp", "binding"] {
        let object = vm(
            "default",
            "vm1",
            vec![iface("default", binding, None)],
            vec![pod_net("default")],
        );
        let response = create(&object, json!({}), &FakeCluster::new());
        assert_eq!(vm_mac(mutated(&response), 0), None, "{binding}");
    }
}

#[test]
fn bridge_and_sriov_on_multus_networks_get_macs() {
    let object = vm(
        "default",
        "vm1",
        vec![iface("blue", "bridge", None), iface("fast", "sriov", None)],
        vec![multus_net("blue"), multus_net("fast")],
    );
    let response = create(&object, json!({}), &empty_cluster());
    let vm = mutated(&response);
    let (a, b) = (vm_mac(vm, 0).unwrap(), vm_mac(vm, 1).unwrap());
    assert_ne!(a, b);
}

#[test]
fn fields_the_policy_does_not_know_survive_and_only_macs_and_the_label_change() {
    let object = demo_vm();
    let response = create(&object, json!({}), &empty_cluster());
    let mut after = mutated(&response).clone();
    assert_eq!(
        after["metadata"]["labels"]["kubemacpool.io/tracked"],
        "true"
    );
    for index in 0..2 {
        after["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][index]
            .as_object_mut()
            .unwrap()
            .remove("macAddress");
    }
    after["metadata"].as_object_mut().unwrap().remove("labels");
    assert_eq!(after, object);
}

#[test]
fn a_user_mac_is_kept_verbatim_and_not_reallocated() {
    let object = vm(
        "default",
        "vm1",
        vec![iface("default", "masquerade", Some("02-00-00-00-AB-CD"))],
        vec![pod_net("default")],
    );
    let response = create(&object, json!({}), &empty_cluster());
    let vm = mutated(&response);
    assert_eq!(vm_mac(vm, 0), Some("02-00-00-00-AB-CD"));
    // Only the tracking label was added.
    assert_eq!(vm["spec"], object["spec"]);
}

#[test]
fn one_mac_on_two_interfaces_is_rejected_in_any_spelling() {
    let object = vm(
        "default",
        "vm1",
        vec![
            iface("a", "bridge", Some("02:00:00:00:FF:FF")),
            iface("b", "bridge", Some("02-00-00-00-ff-ff")),
        ],
        vec![multus_net("a"), multus_net("b")],
    );
    let response = create(&object, json!({}), &FakeCluster::new());
    assert_eq!(
        rejection(&response),
        format!(
            "{CREATE_WRAPPER}duplicate MAC address 02:00:00:00:ff:ff found on interfaces: a and b"
        )
    );
    assert_eq!(response.code, Some(400));
}

#[test]
fn an_invalid_mac_is_rejected() {
    let object = vm(
        "default",
        "vm1",
        vec![iface("a", "bridge", Some("02:00:00:00:00"))],
        vec![multus_net("a")],
    );
    let response = create(&object, json!({}), &FakeCluster::new());
    assert_eq!(
        rejection(&response),
        format!(
            "{CREATE_WRAPPER}invalid MAC address format for interface a: 02:00:00:00:00: address 02:00:00:00:00: invalid MAC address"
        )
    );
}

#[test]
fn duplicate_interface_names_are_rejected() {
    let object = vm(
        "default",
        "vm1",
        vec![iface("a", "bridge", None), iface("a", "masquerade", None)],
        vec![multus_net("a")],
    );
    let response = create(&object, json!({}), &FakeCluster::new());
    assert_eq!(
        rejection(&response),
        format!(
            "{CREATE_WRAPPER}Failed to mutate virtual machine: every interface must have a unique name"
        )
    );
}

#[test]
fn update_rejections_carry_the_update_wrapper() {
    let object = vm(
        "default",
        "vm1",
        vec![iface("a", "bridge", None), iface("a", "bridge", None)],
        vec![],
    );
    let response = evaluate(
        &vm_payload("UPDATE", &object, Some(&object), json!({})),
        &FakeCluster::new(),
    );
    assert_eq!(
        rejection(&response),
        format!(
            "{UPDATE_WRAPPER}Failed to mutate virtual machine: every interface must have a unique name"
        )
    );
}

#[test]
fn dry_run_requests_get_the_same_checks_and_answer() {
    let object = vm(
        "default",
        "vm1",
        vec![iface("a", "bridge", Some("zz"))],
        vec![multus_net("a")],
    );
    let mut payload: Value =
        serde_json::from_slice(&vm_payload("CREATE", &object, None, json!({}))).unwrap();
    let plain = evaluate(&serde_json::to_vec(&payload).unwrap(), &FakeCluster::new());
    payload["request"]["dryRun"] = json!(true);
    let dry = evaluate(&serde_json::to_vec(&payload).unwrap(), &FakeCluster::new());
    assert_eq!(dry.message, plain.message);
    assert!(!dry.accepted);

    let object = demo_vm();
    let mut payload: Value =
        serde_json::from_slice(&vm_payload("CREATE", &object, None, json!({}))).unwrap();
    let plain = evaluate(&serde_json::to_vec(&payload).unwrap(), &empty_cluster());
    payload["request"]["dryRun"] = json!(true);
    let dry = evaluate(&serde_json::to_vec(&payload).unwrap(), &empty_cluster());
    assert_eq!(dry.mutated_object, plain.mutated_object);
}

#[test]
fn a_vm_without_template_is_accepted_unchanged() {
    let object = json!({ "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
        "metadata": { "name": "vm1", "namespace": "default" }, "spec": { "runStrategy": "Halted" } });
    let cluster = FakeCluster::new();
    let response = create(&object, json!({}), &cluster);
    assert!(response.accepted);
    assert_eq!(response.mutated_object, None);
    assert!(cluster.calls().is_empty());
}

#[test]
fn a_vm_being_deleted_is_accepted_unchanged() {
    let mut object = demo_vm();
    object["metadata"]["deletionTimestamp"] = json!("2026-11-27T10:00:00Z");
    let cluster = FakeCluster::new();
    let response = evaluate(
        &vm_payload("UPDATE", &object, Some(&object), json!({})),
        &cluster,
    );
    assert!(response.accepted);
    assert_eq!(response.mutated_object, None);
    assert!(cluster.calls().is_empty());
}

fn with_macs(macs: &[&str]) -> Value {
    vm(
        "default",
        "vm1",
        vec![
            iface("default", "masquerade", Some(macs[0])),
            iface("blue", "bridge", Some(macs[1])),
        ],
        vec![pod_net("default"), multus_net("blue")],
    )
}

#[test]
fn update_reapplying_the_manifest_without_macs_restores_every_old_mac() {
    let mut old = with_macs(&["02:00:00:00:00:01", "02-00-00-00-00-02"]);
    old["metadata"]["labels"] = json!({ "kubemacpool.io/tracked": "true" });
    let mut new = demo_vm();
    new["metadata"]["labels"] = json!({ "kubemacpool.io/tracked": "true" });
    let cluster = FakeCluster::new();
    let response = evaluate(&vm_payload("UPDATE", &new, Some(&old), json!({})), &cluster);
    let vm = mutated(&response);
    assert_eq!(vm_mac(vm, 0), Some("02:00:00:00:00:01"));
    assert_eq!(
        vm_mac(vm, 1),
        Some("02-00-00-00-00-02"),
        "restored exactly as written"
    );
    assert!(cluster.calls().is_empty(), "restoring needs no inventory");
}

#[test]
fn update_keeping_every_mac_produces_no_mutation() {
    let mut object = with_macs(&["02:00:00:00:00:01", "02:00:00:00:00:02"]);
    object["metadata"]["labels"] = json!({
        "kubemacpool.io/tracked": "true",
        "kubemacpool.io/indexed": "v2",
        "mac-blocks.kubemacpool.io/00-03": ""
    });
    let response = evaluate(
        &vm_payload("UPDATE", &object, Some(&object), json!({})),
        &FakeCluster::new(),
    );
    assert!(response.accepted);
    assert_eq!(response.mutated_object, None);
}

#[test]
fn update_adding_an_interface_allocates_only_for_it() {
    let old = with_macs(&["02:00:00:00:00:01", "02:00:00:00:00:02"]);
    let mut new = old.clone();
    new["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"]
        .as_array_mut()
        .unwrap()
        .push(iface("red", "bridge", None));
    new["spec"]["template"]["spec"]["networks"]
        .as_array_mut()
        .unwrap()
        .push(multus_net("red"));
    let response = evaluate(
        &vm_payload("UPDATE", &new, Some(&old), json!({})),
        &empty_cluster(),
    );
    let vm = mutated(&response);
    assert_eq!(vm_mac(vm, 0), Some("02:00:00:00:00:01"));
    assert_eq!(vm_mac(vm, 1), Some("02:00:00:00:00:02"));
    let red = vm_mac(vm, 2).unwrap();
    assert!(!["02:00:00:00:00:01", "02:00:00:00:00:02"].contains(&red));
}

#[test]
fn update_changing_a_mac_keeps_the_users_value() {
    let old = with_macs(&["02:00:00:00:00:01", "02:00:00:00:00:02"]);
    let new = with_macs(&["02:00:00:00:00:01", "02:00:00:00:00:99"]);
    let response = evaluate(
        &vm_payload("UPDATE", &new, Some(&old), json!({})),
        &empty_cluster(),
    );
    let vm = mutated(&response);
    assert_eq!(vm_mac(vm, 1), Some("02:00:00:00:00:99"));
}

#[test]
fn update_restoring_a_mac_onto_one_the_user_moved_is_a_duplicate() {
    let old = with_macs(&["02:00:00:00:00:01", "02:00:00:00:00:02"]);
    let new = vm(
        "default",
        "vm1",
        vec![
            iface("default", "masquerade", None),
            iface("blue", "bridge", Some("02:00:00:00:00:01")),
        ],
        vec![pod_net("default"), multus_net("blue")],
    );
    let response = evaluate(
        &vm_payload("UPDATE", &new, Some(&old), json!({})),
        &FakeCluster::new(),
    );
    assert_eq!(
        rejection(&response),
        format!(
            "{UPDATE_WRAPPER}duplicate MAC address 02:00:00:00:00:01 found on interfaces: default and blue"
        )
    );
}

fn other_vm(mac: &str) -> Value {
    vm(
        "prod",
        "other",
        vec![iface("blue", "bridge", Some(mac))],
        vec![multus_net("blue")],
    )
}

fn other_pod(mac: &str) -> Value {
    pod(
        "prod",
        "web",
        Some(&format!(r#"[{{"name":"blue-net","mac":"{mac}"}}]"#)),
        None,
    )
}

#[test]
fn macs_held_by_other_vms_and_pods_are_never_handed_out() {
    // A four-address pool of which three are held elsewhere: the only answer is the fourth.
    let settings = small_pool("02:00:00:00:00:00", "02:00:00:00:00:03");
    let object = requesting(None);
    let cluster = cluster(
        &[other_vm("02:00:00:00:00:00"), other_vm("02:00:00:00:00:02")],
        &[other_pod("02:00:00:00:00:03")],
    );
    let response = create(&object, settings, &cluster);
    assert_eq!(vm_mac(mutated(&response), 0), Some("02:00:00:00:00:01"));
}

#[test]
fn excluded_macs_are_never_handed_out() {
    let settings = json!({ "rangeStart": "02:00:00:00:00:00", "rangeEnd": "02:00:00:00:00:0f",
        "excludedMacs": ["02:00:00:00:00:00-02:00:00:00:00:0e"] });
    let object = requesting(None);
    let response = create(&object, settings, &empty_cluster());
    assert_eq!(vm_mac(mutated(&response), 0), Some("02:00:00:00:00:0f"));
}

#[test]
fn a_full_pool_is_rejected_with_the_range_is_full() {
    let settings = small_pool("02:00:00:00:00:00", "02:00:00:00:00:01");
    let object = requesting(None);
    let cluster = cluster(
        &[other_vm("02:00:00:00:00:00")],
        &[other_pod("02:00:00:00:00:01")],
    );
    let response = create(&object, settings, &cluster);
    assert_eq!(
        rejection(&response),
        "Failed to create virtual machine allocation error: Failed to allocate mac to the vm object: the range is full"
    );
    assert_eq!(response.code, Some(409));
}

#[test]
fn a_range_crossing_into_a_multicast_octet_never_yields_multicast() {
    let settings = small_pool("02:ff:ff:ff:ff:fe", "04:00:00:00:00:01");
    let interfaces: Vec<Value> = (0..4)
        .map(|i| iface(&format!("n{i}"), "bridge", None))
        .collect();
    let networks: Vec<Value> = (0..4).map(|i| multus_net(&format!("n{i}"))).collect();
    let object = vm("default", "vm1", interfaces, networks);
    let response = create(&object, settings, &empty_cluster());
    let vm = mutated(&response);
    let mut macs: Vec<&str> = (0..4).map(|i| vm_mac(vm, i).unwrap()).collect();
    macs.sort();
    assert_eq!(
        macs,
        [
            "02:ff:ff:ff:ff:fe",
            "02:ff:ff:ff:ff:ff",
            "04:00:00:00:00:00",
            "04:00:00:00:00:01"
        ]
    );
}

#[test]
fn the_answer_does_not_depend_on_the_order_the_host_lists_objects_in() {
    let vms = [
        other_vm("02:00:00:00:00:05"),
        other_vm("02:00:00:00:00:01"),
        other_vm("02:00:00:00:00:03"),
    ];
    let pods = [
        other_pod("02:00:00:00:00:02"),
        other_pod("02:00:00:00:00:04"),
    ];
    let settings = json!({ "rangeStart": "02:00:00:00:00:00", "rangeEnd": "02:00:00:00:00:07", "duplicateMacs": "warn" });
    let object = vm(
        "default",
        "vm1",
        vec![
            iface("blue", "bridge", Some("02:00:00:00:00:03")),
            iface("red", "bridge", None),
            iface("green", "bridge", None),
        ],
        vec![multus_net("blue"), multus_net("red"), multus_net("green")],
    );
    let forward = create(&object, settings.clone(), &cluster(&vms, &pods));
    let mut reversed_vms = vms.clone();
    reversed_vms.reverse();
    let mut reversed_pods = pods.clone();
    reversed_pods.reverse();
    let backward = create(&object, settings, &cluster(&reversed_vms, &reversed_pods));
    assert_eq!(
        serde_json::to_vec(&forward).unwrap(),
        serde_json::to_vec(&backward).unwrap()
    );
}

/// A VM with one bridge interface on a Multus network, with or without a MAC.
fn requesting(mac: Option<&str>) -> Value {
    vm(
        "default",
        "vm1",
        vec![iface("blue", "bridge", mac)],
        vec![multus_net("blue")],
    )
}

#[test]
fn warn_accepts_a_mac_held_by_another_vm_with_a_warning_naming_it() {
    let response = create(
        &requesting(Some("02:00:00:00:00:07")),
        json!({ "duplicateMacs": "warn" }),
        &cluster(&[other_vm("02:00:00:00:00:07")], &[]),
    );
    assert!(response.accepted);
    assert_eq!(
        response.warnings,
        Some(vec![
            "MAC address 02:00:00:00:00:07 requested for interface blue is already used by VirtualMachine prod/other"
                .to_string()
        ])
    );
}

#[test]
fn reject_refuses_a_mac_held_by_another_vm() {
    let response = create(
        &requesting(Some("02:00:00:00:00:07")),
        json!({ "duplicateMacs": "reject" }),
        &cluster(&[other_vm("02:00:00:00:00:07")], &[]),
    );
    assert_eq!(
        rejection(&response),
        format!(
            "{CREATE_WRAPPER}failed to allocate requested mac address: 02:00:00:00:00:07 is used by VirtualMachine prod/other"
        )
    );
    assert_eq!(response.code, Some(409));
}

#[test]
fn reject_refuses_a_mac_held_by_a_pod_and_names_every_owner_sorted() {
    let response = create(
        &requesting(Some("02-00-00-00-00-07")),
        json!({ "duplicateMacs": "reject" }),
        &cluster(
            &[other_vm("02:00:00:00:00:07")],
            &[other_pod("02:00:00:00:00:07")],
        ),
    );
    assert_eq!(
        rejection(&response),
        format!(
            "{CREATE_WRAPPER}failed to allocate requested mac address: 02:00:00:00:00:07 is used by Pod prod/web, VirtualMachine prod/other"
        )
    );
}

#[test]
fn allow_accepts_a_mac_held_elsewhere_silently_without_reading_the_inventory() {
    let cluster = FakeCluster::new();
    let response = create(
        &requesting(Some("02:00:00:00:00:07")),
        json!({ "duplicateMacs": "allow" }),
        &cluster,
    );
    assert!(response.accepted);
    assert_eq!(response.warnings, None);
    assert!(cluster.calls().is_empty());
}

#[test]
fn the_vms_own_launcher_pod_is_not_a_duplicate() {
    let launcher = pod(
        "default",
        "virt-launcher-vm1-x7k2p",
        Some(r#"[{"name":"blue-net","mac":"02:00:00:00:00:07"}]"#),
        Some("vm1"),
    );
    let myself = requesting(Some("02:00:00:00:00:07"));
    for mode in ["warn", "reject"] {
        let response = evaluate(
            &vm_payload(
                "UPDATE",
                &requesting(Some("02:00:00:00:00:07")),
                Some(&requesting(Some("02:00:00:00:00:08"))),
                json!({ "duplicateMacs": mode }),
            ),
            &cluster(
                std::slice::from_ref(&myself),
                std::slice::from_ref(&launcher),
            ),
        );
        assert!(response.accepted, "{mode}: {:?}", response.message);
        assert_eq!(response.warnings, None, "{mode}");
    }
}

#[test]
fn the_inventory_is_the_seed_then_two_list_calls_vms_then_pods_with_field_masks() {
    let cluster = empty_cluster();
    create(&demo_vm(), json!({}), &cluster);
    assert_eq!(
        cluster.calls(),
        vec![
            seed_call(),
            Call::ListAll {
                api_version: "kubevirt.io/v1".into(),
                kind: "VirtualMachine".into(),
                label_selector: None,
                field_masks: vec![
                    "metadata".into(),
                    "spec.template.spec.domain.devices.interfaces".into(),
                    "spec.template.spec.networks".into()
                ],
            },
            // The default `pods-tracked` lists only labelled pods.
            Call::ListAll {
                api_version: "v1".into(),
                kind: "Pod".into(),
                label_selector: Some("kubemacpool.io/tracked=true".into()),
                field_masks: vec!["metadata".into()],
            },
        ]
    );
}

#[rstest]
#[case::pods_tracked("pods-tracked", None, Some(TRACKED))]
#[case::all("all", None, None)]
#[case::tracked("tracked", Some(TRACKED), Some(TRACKED))]
fn each_inventory_mode_sends_its_label_selectors(
    #[case] mode: &str,
    #[case] vms: Option<&str>,
    #[case] pods: Option<&str>,
) {
    let cluster = empty_cluster();
    create(&demo_vm(), json!({ "inventory": mode }), &cluster);
    let calls = cluster.calls();
    assert_eq!(calls[0], seed_call());
    let selectors: Vec<Option<String>> = calls
        .into_iter()
        .skip(1)
        .map(|call| match call {
            Call::ListAll { label_selector, .. } => label_selector,
            other => panic!("unexpected call {other:?}"),
        })
        .collect();
    assert_eq!(
        selectors,
        vec![vms.map(str::to_string), pods.map(str::to_string)]
    );
}

#[test]
fn a_host_error_on_the_vm_list_rejects_naming_the_call() {
    let cluster =
        FakeCluster::new().then_err("Forbidden: virtualmachines.kubevirt.io is forbidden");
    let response = create(&demo_vm(), json!({}), &cluster);
    assert_eq!(
        rejection(&response),
        format!(
            "{CREATE_WRAPPER}cannot build the MAC inventory: host call list_resources_all kubevirt.io/v1 VirtualMachine failed: Forbidden: virtualmachines.kubevirt.io is forbidden"
        )
    );
    assert_eq!(cluster.calls().len(), 2, "the seed, then the failed list");
}

#[test]
fn a_host_error_on_the_pod_list_rejects_naming_the_call() {
    let cluster = FakeCluster::new()
        .then_ok(list(&[]))
        .then_err("connection refused");
    let response = create(&demo_vm(), json!({}), &cluster);
    assert_eq!(
        rejection(&response),
        format!(
            "{CREATE_WRAPPER}cannot build the MAC inventory: host call list_resources_all v1 Pod with label selector kubemacpool.io/tracked=true failed: connection refused"
        )
    );
    assert_eq!(response.code, Some(500));
}

#[test]
fn a_list_response_that_is_not_a_list_rejects() {
    let cluster = FakeCluster::new()
        .then_ok("<html>proxy error</html>")
        .then_ok(list(&[]));
    let response = create(&demo_vm(), json!({}), &cluster);
    assert!(rejection(&response).contains("list_resources_all kubevirt.io/v1 VirtualMachine failed: the response is not a Kubernetes List"));
}

#[test]
fn delete_and_other_kinds_pass_through_untouched() {
    let object = demo_vm();
    let cluster = FakeCluster::new();
    for operation in ["DELETE", "CONNECT"] {
        let response = evaluate(
            &vm_payload(operation, &object, Some(&object), json!({})),
            &cluster,
        );
        assert!(response.accepted);
        assert_eq!(response.mutated_object, None);
    }
    let response = evaluate(
        &payload(
            "kubevirt.io",
            "VirtualMachineInstance",
            "CREATE",
            &object,
            None,
            json!({}),
        ),
        &cluster,
    );
    assert_eq!(response.mutated_object, None);
    let response = evaluate(
        &payload("apps", "Deployment", "CREATE", &object, None, json!({})),
        &cluster,
    );
    assert_eq!(response.mutated_object, None);
    let mut status: Value =
        serde_json::from_slice(&vm_payload("UPDATE", &object, Some(&object), json!({}))).unwrap();
    status["request"]["subResource"] = json!("status");
    let response = evaluate(&serde_json::to_vec(&status).unwrap(), &cluster);
    assert_eq!(response.mutated_object, None);
    assert!(cluster.calls().is_empty());
}

#[test]
fn a_request_without_object_is_accepted_unchanged() {
    let response = evaluate(
        &vm_payload("CREATE", &Value::Null, None, json!({})),
        &FakeCluster::new(),
    );
    assert!(response.accepted);
    assert_eq!(response.mutated_object, None);
}
