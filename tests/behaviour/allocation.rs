//! behaviour.md sections 3 and 6, the rules KubeVirt's own workflows meet: the seed (the
//! cluster's `kube-system` uid unless the setting names one), the reserved address
//! `02:00:00:00:00:00`, live-migration receivers (`runStrategy: WaitAsReceiver`), and the
//! `duplicate-mac` audit annotation that repeats the warnings.

use kubemacpool_policy::testing::{CLUSTER_UID, Call, FakeCluster, MemoryCluster};
use serde_json::{Value, json};

use crate::common::*;

const CREATE_WRAPPER: &str =
    "Failed to create virtual machine allocation error: Failed to allocate mac to the vm object: ";

fn cluster_with_uid(uid: &str) -> MemoryCluster {
    MemoryCluster::default().with_kube_system_uid(Some(uid))
}

fn allocated(object: &Value, settings: Value, cluster: &MemoryCluster) -> Vec<String> {
    let response = run(
        &review("VirtualMachine", "CREATE", object, None, settings),
        cluster,
    );
    assert!(response.accepted, "{:?}", response.message);
    macs_of_vm(response.mutated_object.as_ref().unwrap())
}

// --- The seed -------------------------------------------------------------------------------

#[test]
fn with_an_empty_seed_two_clusters_give_the_same_names_different_macs() {
    for settings in [json!({}), json!({ "inventory": "all" })] {
        let one = allocated(
            &two_nic_vm("vm1"),
            settings.clone(),
            &cluster_with_uid("uid-a"),
        );
        let other = allocated(
            &two_nic_vm("vm1"),
            settings.clone(),
            &cluster_with_uid("uid-b"),
        );
        assert_ne!(one, other, "{settings}");
        // The same cluster gives the same answer every time.
        assert_eq!(
            one,
            allocated(&two_nic_vm("vm1"), settings, &cluster_with_uid("uid-a"))
        );
    }
}

#[test]
fn an_explicit_seed_gives_every_cluster_the_same_macs_without_the_call() {
    let settings = json!({ "seed": "fleet-1" });
    let first = cluster_with_uid("uid-a");
    let one = allocated(&two_nic_vm("vm1"), settings.clone(), &first);
    let other = allocated(&two_nic_vm("vm1"), settings, &cluster_with_uid("uid-b"));
    assert_eq!(one, other);
    assert!(!first.calls().iter().any(|c| matches!(c, Call::Get { .. })));
}

#[test]
fn the_seed_is_read_once_before_the_lists_by_an_admission_with_a_blank() {
    let cluster = MemoryCluster::default();
    allocated(&two_nic_vm("vm1"), json!({}), &cluster);
    let calls = cluster.calls();
    assert_eq!(calls[0], seed_call());
    assert_eq!(calls.iter().filter(|c| **c == seed_call()).count(), 1);
    assert!(calls[1..].iter().all(|c| matches!(c, Call::ListAll { .. })));
}

#[test]
fn an_admission_without_a_blank_does_not_read_the_seed() {
    let object = vm(
        "default",
        "vm1",
        vec![iface("blue", "bridge", Some("02:00:00:00:fe:01"))],
        vec![multus_net("blue")],
    );
    let cluster = MemoryCluster::default();
    let response = run(
        &review("VirtualMachine", "CREATE", &object, None, json!({})),
        &cluster,
    );
    assert!(response.accepted);
    assert!(!cluster.calls().contains(&seed_call()));
    assert!(
        !cluster.list_calls().is_empty(),
        "the requested MAC is checked"
    );
}

#[test]
fn a_failed_seed_read_fails_closed_naming_the_call() {
    let forbidden = "namespaces \"kube-system\" is forbidden: User cannot get resource";
    let cluster = FakeCluster::new().with_kube_system(Err(forbidden.to_string()));
    let response = evaluate(
        &vm_payload("CREATE", &two_nic_vm("vm1"), None, json!({})),
        &cluster,
    );
    assert_eq!(
        rejection(&response),
        format!(
            "{CREATE_WRAPPER}cannot derive the allocation seed: host call get_resource v1 Namespace kube-system failed: {forbidden}"
        )
    );
    assert_eq!(response.code, Some(500));
    assert_eq!(cluster.calls(), vec![seed_call()], "no list after it");

    // A Pod: the same message, without the VM wrapper.
    let cluster = FakeCluster::new().with_kube_system(Err(forbidden.to_string()));
    let object = pod("default", "p", Some(r#"[{"name":"blue"}]"#), None);
    let response = evaluate(&pod_payload(&object, json!({})), &cluster);
    assert_eq!(
        rejection(&response),
        format!(
            "cannot derive the allocation seed: host call get_resource v1 Namespace kube-system failed: {forbidden}"
        )
    );
}

#[test]
fn a_cluster_without_kube_system_fails_closed() {
    let cluster = MemoryCluster::default().with_kube_system_uid(None);
    let response = run(
        &review(
            "VirtualMachine",
            "CREATE",
            &two_nic_vm("vm1"),
            None,
            json!({}),
        ),
        &cluster,
    );
    let message = response.message.unwrap();
    assert!(
        message.starts_with(&format!(
            "{CREATE_WRAPPER}cannot derive the allocation seed: host call get_resource v1 Namespace kube-system failed: Cannot find"
        )),
        "{message}"
    );
}

#[test]
fn the_seed_is_the_uid_of_the_answered_namespace() {
    // The same VM on the doubles' cluster and on a cluster of that uid: the same MACs.
    assert_eq!(
        allocated(&two_nic_vm("vm1"), json!({}), &MemoryCluster::default()),
        allocated(
            &two_nic_vm("vm1"),
            json!({}),
            &cluster_with_uid(CLUSTER_UID)
        )
    );
    assert_eq!(
        allocated(&two_nic_vm("vm1"), json!({}), &MemoryCluster::default()),
        allocated(
            &two_nic_vm("vm1"),
            json!({ "seed": CLUSTER_UID }),
            &cluster_with_uid("another")
        )
    );
}

// --- The reserved address -------------------------------------------------------------------

#[test]
fn the_reserved_address_is_never_allocated_even_where_the_range_starts() {
    // A range of four addresses starting at 02:00:00:00:00:00: three are in the pool.
    let settings = json!({ "rangeStart": "02:00:00:00:00:00", "rangeEnd": "02:00:00:00:00:03" });
    let mut seen = std::collections::BTreeSet::new();
    for name in ["a", "b", "c", "d", "e", "f", "g", "h"] {
        let object = vm(
            "default",
            name,
            vec![iface("default", "masquerade", None)],
            vec![pod_net("default")],
        );
        let macs = allocated(&object, settings.clone(), &MemoryCluster::default());
        seen.extend(macs);
    }
    assert!(!seen.contains("02:00:00:00:00:00"), "{seen:?}");
    // With the three others held, the range is full.
    let holders: Vec<Value> = ["01", "02", "03"]
        .iter()
        .map(|low| {
            vm(
                "other",
                &format!("h{low}"),
                vec![iface(
                    "blue",
                    "bridge",
                    Some(&format!("02:00:00:00:00:{low}")),
                )],
                vec![multus_net("blue")],
            )
        })
        .collect();
    let response = run(
        &review("VirtualMachine", "CREATE", &two_nic_vm("x"), None, settings),
        &MemoryCluster::new(holders, vec![]),
    );
    assert!(response.message.unwrap().ends_with("the range is full"));
}

#[test]
fn a_user_may_still_request_the_reserved_address() {
    let object = vm(
        "default",
        "vm1",
        vec![iface("blue", "bridge", Some("02:00:00:00:00:00"))],
        vec![multus_net("blue")],
    );
    let response = run(
        &review("VirtualMachine", "CREATE", &object, None, json!({})),
        &MemoryCluster::default(),
    );
    assert!(response.accepted, "{:?}", response.message);
    let labels = &response.mutated_object.unwrap()["metadata"]["labels"];
    assert_eq!(labels["kubemacpool.io/tracked"], "true");
}

// --- Live-migration receivers -------------------------------------------------------------

fn receiver(mac: &str, blank: bool) -> Value {
    let mut interfaces = vec![iface("blue", "bridge", Some(mac))];
    let mut networks = vec![multus_net("blue")];
    if blank {
        interfaces.push(iface("red", "bridge", None));
        networks.push(multus_net("red"));
    }
    let mut object = vm("target", "vm1", interfaces, networks);
    object["spec"]["runStrategy"] = json!("WaitAsReceiver");
    object
}

fn source_holding(mac: &str) -> MemoryCluster {
    let mut source = vm(
        "source",
        "vm1",
        vec![iface("blue", "bridge", Some(mac))],
        vec![multus_net("blue")],
    );
    source["metadata"]["labels"] = json!({
        "kubemacpool.io/tracked": "true",
        "kubemacpool.io/indexed": "v2",
        "mac-blocks.kubemacpool.io/fc-ff": ""
    });
    MemoryCluster::new(vec![source], vec![])
}

#[test]
fn a_wait_as_receiver_vm_keeps_its_sources_macs_under_reject_without_a_warning_or_a_list() {
    for mode in ["reject", "warn", "allow"] {
        let cluster = source_holding("02:00:00:00:fe:01");
        let response = run(
            &review(
                "VirtualMachine",
                "CREATE",
                &receiver("02:00:00:00:fe:01", false),
                None,
                json!({ "duplicateMacs": mode }),
            ),
            &cluster,
        );
        assert!(response.accepted, "{mode}: {:?}", response.message);
        assert_eq!(response.warnings, None, "{mode}");
        assert_eq!(response.audit_annotations, None, "{mode}");
        assert!(cluster.calls().is_empty(), "{mode}: {:?}", cluster.calls());
    }
}

#[test]
fn a_wait_as_receiver_vms_blanks_are_allocated_as_usual() {
    let cluster = source_holding("02:00:00:00:fe:01");
    let response = run(
        &review(
            "VirtualMachine",
            "CREATE",
            &receiver("02:00:00:00:fe:01", true),
            None,
            json!({ "duplicateMacs": "reject" }),
        ),
        &cluster,
    );
    assert!(response.accepted, "{:?}", response.message);
    let macs = macs_of_vm(response.mutated_object.as_ref().unwrap());
    assert_eq!(macs.len(), 2);
    assert_ne!(macs[1], "02:00:00:00:fe:01");
    assert!(cluster.calls().contains(&seed_call()));
}

#[test]
fn another_run_strategy_still_rejects_a_held_mac_under_reject() {
    let mut object = receiver("02:00:00:00:fe:01", false);
    object["spec"]["runStrategy"] = json!("Always");
    let response = run(
        &review(
            "VirtualMachine",
            "CREATE",
            &object,
            None,
            json!({ "duplicateMacs": "reject" }),
        ),
        &source_holding("02:00:00:00:fe:01"),
    );
    assert_eq!(
        rejection(&response),
        format!(
            "{CREATE_WRAPPER}failed to allocate requested mac address: 02:00:00:00:fe:01 is used by VirtualMachine source/vm1"
        )
    );
}

// --- The duplicate-mac audit annotation ---------------------------------------------------

#[test]
fn every_duplicate_warning_is_also_the_duplicate_mac_audit_annotation() {
    // A restore to a new VM: the source's interfaces, MACs included.
    let with_source_macs = |namespace: &str, name: &str| {
        vm(
            namespace,
            name,
            vec![
                iface("blue", "bridge", Some("02:00:00:00:fe:01")),
                iface("red", "bridge", Some("02:00:00:00:fe:02")),
            ],
            vec![multus_net("blue"), multus_net("red")],
        )
    };
    let mut object = with_source_macs("default", "restored");
    object["spec"]["runStrategy"] = json!("Halted");
    let mut source = with_source_macs("source", "vm1");
    source["metadata"]["labels"] =
        json!({ "kubemacpool.io/indexed": "v2", "mac-blocks.kubemacpool.io/fc-ff": "" });
    let response = run(
        &review("VirtualMachine", "CREATE", &object, None, json!({})),
        &MemoryCluster::new(vec![source], vec![]),
    );
    let warnings = response.warnings.clone().unwrap();
    assert_eq!(
        warnings,
        vec![
            "MAC address 02:00:00:00:fe:01 requested for interface blue is already used by VirtualMachine source/vm1",
            "MAC address 02:00:00:00:fe:02 requested for interface red is already used by VirtualMachine source/vm1",
        ]
    );
    let annotations = response.audit_annotations.unwrap();
    assert_eq!(annotations.len(), 1);
    assert_eq!(annotations["duplicate-mac"], warnings.join("; "));
}

#[test]
fn an_admission_without_a_warning_has_no_audit_annotation() {
    let response = run(
        &review(
            "VirtualMachine",
            "CREATE",
            &two_nic_vm("vm1"),
            None,
            json!({}),
        ),
        &MemoryCluster::default(),
    );
    assert!(response.accepted);
    assert_eq!(response.audit_annotations, None);
}
