//! behaviour.md section 4.1, Pod UPDATE: the annotation keeps its MACs through a re-apply, a
//! GitOps sync or a network hotplug. One test per rule, on a cluster that evaluates label
//! selectors (so that every inventory mode makes its real calls), each answer also checked on
//! the same cluster listing in reverse order.

use crate::common::{NETWORKS, pod, run, span, span_label, spans_labelled, vm};
use kubemacpool_policy::testing::{Call, MemoryCluster};
use kubewarden_policy_sdk::response::ValidationResponse;
use serde_json::{Value, json};

const MODES: [&str; 4] = ["indexed", "pods-tracked", "all", "tracked"];
const BLUE: &str = "02:00:00:00:aa:01";
const RED: &str = "02:00:00:00:bb:02";

fn review(operation: &str, object: &Value, old: Option<&Value>, settings: Value) -> Vec<u8> {
    crate::common::review("Pod", operation, object, old, settings)
}

/// A Pod UPDATE from `old` to `new` on an empty cluster.
fn update(old: &Value, new: &Value, settings: Value) -> (ValidationResponse, MemoryCluster) {
    update_on(MemoryCluster::default(), old, new, settings)
}

fn update_on(
    cluster: MemoryCluster,
    old: &Value,
    new: &Value,
    settings: Value,
) -> (ValidationResponse, MemoryCluster) {
    let response = run(&review("UPDATE", new, Some(old), settings), &cluster);
    (response, cluster)
}

/// The stored pod `default/p`: the policy's CREATE answer for `manifest` (a JSON networks
/// value), with Multus' `network-status` added as on a running pod.
fn stored(manifest: &str) -> Value {
    let response = run(
        &review(
            "CREATE",
            &pod("default", "p", Some(manifest), None),
            None,
            json!({}),
        ),
        &MemoryCluster::default(),
    );
    let mut object = response.mutated_object.expect("the CREATE allocates");
    object["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"] = json!("[]");
    object
}

/// `object` with its networks value replaced, as a re-apply or a hotplug writes it.
fn with_networks(object: &Value, networks: &str) -> Value {
    let mut object = object.clone();
    object["metadata"]["annotations"][NETWORKS] = json!(networks);
    object
}

fn networks(object: &Value) -> &str {
    object["metadata"]["annotations"][NETWORKS]
        .as_str()
        .unwrap()
}

fn elements(object: &Value) -> Vec<Value> {
    serde_json::from_str(networks(object)).unwrap()
}

fn macs(object: &Value) -> Vec<String> {
    elements(object)
        .iter()
        .map(|e| e["mac"].as_str().unwrap_or("").to_string())
        .collect()
}

fn mutated(response: &ValidationResponse) -> &Value {
    assert!(response.accepted, "rejected: {:?}", response.message);
    response.mutated_object.as_ref().expect("a mutated object")
}

fn unchanged(response: &ValidationResponse) {
    assert!(response.accepted, "rejected: {:?}", response.message);
    assert_eq!(response.mutated_object, None, "expected no patch");
}

fn rejection(response: &ValidationResponse) -> &str {
    assert!(!response.accepted, "accepted, expected a rejection");
    response.message.as_deref().unwrap_or("")
}

/// A running pod `default/p` holding BLUE on `blue` and RED on `red`, labelled as the policy
/// labels it.
fn running_pod() -> Value {
    let mut object = pod(
        "default",
        "p",
        Some(&format!(
            r#"[{{"name":"blue","mac":"{BLUE}"}},{{"name":"red","mac":"{RED}"}}]"#
        )),
        None,
    );
    object["metadata"]["labels"] = json!({
        "app": "demo",
        "kubemacpool.io/tracked": "true",
        "kubemacpool.io/indexed": "v2",
        "mac-blocks.kubemacpool.io/a0-af": "",
        "mac-blocks.kubemacpool.io/b0-bf": ""
    });
    object["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"] = json!("[]");
    object
}

// --- Step 1: nothing in the value can have lost a MAC ---------------------------------------

#[test]
fn an_unchanged_value_only_repairs_the_index_labels_without_a_host_call() {
    let old = running_pod();
    let mut new = old.clone();
    new["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("mac-blocks.kubemacpool.io/b0-bf");
    for mode in MODES {
        let (response, cluster) = update(&old, &new, json!({ "inventory": mode }));
        let result = mutated(&response);
        assert_eq!(spans_labelled(result), ["a0-af", "b0-bf"], "{mode}");
        assert_eq!(networks(result), networks(&old), "{mode}");
        assert!(cluster.calls().is_empty(), "{mode}");
    }
    // Labels already right: no patch.
    let (response, _) = update(&old, &old, json!({}));
    unchanged(&response);
}

#[test]
fn a_removed_annotation_drops_the_block_labels_and_is_not_written_back() {
    let old = running_pod();
    let mut new = old.clone();
    new["metadata"]["annotations"]
        .as_object_mut()
        .unwrap()
        .remove(NETWORKS);
    let (response, cluster) = update(&old, &new, json!({}));
    let result = mutated(&response);
    assert!(result["metadata"]["annotations"].get(NETWORKS).is_none());
    assert!(spans_labelled(result).is_empty());
    assert_eq!(
        result["metadata"]["labels"]["kubemacpool.io/tracked"],
        "true"
    );
    assert!(cluster.calls().is_empty());
}

#[test]
fn the_short_form_under_podshortform_ignore_is_left_alone() {
    let old = running_pod();
    let new = with_networks(&old, "blue,red");
    let (response, cluster) = update(&old, &new, json!({ "podShortForm": "ignore" }));
    let result = mutated(&response);
    assert_eq!(networks(result), "blue,red");
    assert!(
        spans_labelled(result).is_empty(),
        "the short form holds no MAC"
    );
    assert!(cluster.calls().is_empty());
}

// --- Step 2: a changed value is read as on CREATE --------------------------------------------

#[test]
fn a_changed_value_that_is_empty_is_rejected_with_the_create_message() {
    let old = running_pod();
    let (response, _) = update(&old, &with_networks(&old, ""), json!({}));
    assert_eq!(
        rejection(&response),
        "parsePodNetworkAnnotation: pod annotation not having \"network\" as key, refer Multus README.md for the usage guide"
    );
    assert_eq!(response.code, Some(400));
}

#[test]
fn a_changed_value_that_is_not_a_selection_is_rejected_with_the_create_message() {
    let old = running_pod();
    let (response, _) = update(&old, &with_networks(&old, r#"[{"name":7}]"#), json!({}));
    assert_eq!(
        rejection(&response),
        "parsePodNetworkAnnotation: failed to parse pod Network Attachment Selection Annotation JSON format: element 0: \"name\" must be a string"
    );
}

#[test]
fn a_changed_mac_that_does_not_parse_is_rejected() {
    let old = running_pod();
    let new = with_networks(&old, r#"[{"name":"blue","mac":"02:00:00:00:aa"}]"#);
    let (response, _) = update(&old, &new, json!({}));
    assert_eq!(
        rejection(&response),
        "address 02:00:00:00:aa: invalid MAC address"
    );
}

#[test]
fn the_short_form_under_convert_is_converted_and_gets_its_macs_back() {
    let old = running_pod();
    let (response, cluster) = update(&old, &with_networks(&old, "blue, red"), json!({}));
    let result = mutated(&response);
    assert_eq!(
        networks(result),
        format!(r#"[{{"name":"blue","mac":"{BLUE}"}},{{"name":"red","mac":"{RED}"}}]"#)
    );
    assert!(cluster.calls().is_empty());
}

#[test]
fn network_status_does_not_stop_an_update_as_it_stops_a_create() {
    // running_pod() carries network-status, as every running pod does.
    let old = running_pod();
    let new = with_networks(&old, r#"[{"name":"blue"},{"name":"red"}]"#);
    let (response, _) = update(&old, &new, json!({}));
    assert_eq!(macs(mutated(&response)), [BLUE, RED]);
}

#[test]
fn a_launcher_pod_whose_vm_exists_is_accepted_unchanged() {
    let manifest = r#"[{"name":"blue"}]"#;
    let old = with_networks(
        &pod("default", "virt-launcher-db-x", None, Some("db")),
        &format!(r#"[{{"name":"blue","mac":"{BLUE}"}}]"#),
    );
    let new = with_networks(&old, manifest);
    let db = vm("default", "db", vec![], vec![]);
    let (response, cluster) =
        update_on(MemoryCluster::new(vec![db], vec![]), &old, &new, json!({}));
    unchanged(&response);
    assert!(matches!(&cluster.calls()[..], [Call::Get { name, .. }] if name == "db"));
}

#[test]
fn a_launcher_pod_of_a_standalone_vmi_gets_its_macs_back() {
    let old = with_networks(
        &pod("default", "virt-launcher-solo-x", None, Some("solo")),
        &format!(r#"[{{"name":"blue","mac":"{BLUE}"}}]"#),
    );
    let new = with_networks(&old, r#"[{"name":"blue"}]"#);
    let (response, cluster) = update(&old, &new, json!({}));
    assert_eq!(macs(mutated(&response)), [BLUE]);
    assert!(
        matches!(&cluster.calls()[..], [Call::Get { .. }]),
        "only the VM lookup"
    );
}

#[test]
fn an_old_value_that_does_not_parse_has_no_elements_but_its_macs_stay_used() {
    // `ips` is not a list: the old value fails the checks, so nothing is matched; the MAC it
    // holds is still the pod's, so the one-address pool has nothing left.
    let mut old = running_pod();
    old["metadata"]["annotations"][NETWORKS] =
        json!(format!(r#"[{{"name":"blue","mac":"{BLUE}","ips":"x"}}]"#));
    let new = with_networks(&old, r#"[{"name":"blue"}]"#);
    let pool = json!({ "rangeStart": BLUE, "rangeEnd": "02:00:00:00:aa:02", "excludedMacs": ["02:00:00:00:aa:02"] });
    let (response, _) = update(&old, &new, pool);
    assert_eq!(rejection(&response), "the range is full");
}

// --- Step 3: matching -----------------------------------------------------------------------

#[test]
fn the_kth_element_of_a_network_matches_the_kth_old_element_of_that_network() {
    let old = with_networks(
        &running_pod(),
        &format!(r#"[{{"name":"blue","mac":"{BLUE}"}},{{"name":"blue","mac":"{RED}"}}]"#),
    );
    let new = with_networks(&old, r#"[{"name":"blue"},{"name":"blue"}]"#);
    let (response, _) = update(&old, &new, json!({}));
    assert_eq!(macs(mutated(&response)), [BLUE, RED]);
}

#[test]
fn elements_match_by_key_not_by_position() {
    let old = running_pod();
    let new = with_networks(&old, r#"[{"name":"red"},{"name":"blue"}]"#);
    let (response, _) = update(&old, &new, json!({}));
    assert_eq!(macs(mutated(&response)), [RED, BLUE]);
}

#[test]
fn an_absent_namespace_is_the_pods_own() {
    let old = with_networks(
        &running_pod(),
        &format!(r#"[{{"name":"blue","namespace":"default","mac":"{BLUE}"}}]"#),
    );
    let new = with_networks(&old, r#"[{"name":"blue"}]"#);
    let (response, _) = update(&old, &new, json!({}));
    assert_eq!(macs(mutated(&response)), [BLUE]);
}

#[test]
fn another_namespace_or_another_interface_is_another_attachment() {
    let old = with_networks(
        &running_pod(),
        &format!(
            r#"[{{"name":"blue","interface":"net1","mac":"{BLUE}"}},{{"name":"red","mac":"{RED}"}}]"#
        ),
    );
    let new = with_networks(
        &old,
        r#"[{"name":"blue","interface":"net2"},{"name":"red","namespace":"team"}]"#,
    );
    let (response, _) = update(&old, &new, json!({}));
    let got = macs(mutated(&response));
    assert!(!got.contains(&BLUE.to_string()) && !got.contains(&RED.to_string()));
}

// --- Step 4: what each element gets ---------------------------------------------------------

#[test]
fn a_restored_mac_is_written_as_the_old_element_wrote_it() {
    let old = with_networks(
        &running_pod(),
        r#"[{"name":"blue","mac":"02-00-00-00-AA-01"},{"name":"red","mac":""}]"#,
    );
    let new = with_networks(&old, r#"[{"name":"blue","mac":""},{"name":"red"}]"#);
    let (response, _) = update(&old, &new, json!({}));
    let got = macs(mutated(&response));
    assert_eq!(got[0], "02-00-00-00-AA-01");
    assert_ne!(
        got[1], "",
        "an old element without a MAC gives none back: red is allocated"
    );
}

#[test]
fn a_mac_equal_to_the_old_one_in_normal_form_is_untouched_and_not_checked() {
    let old = running_pod();
    let new = with_networks(
        &old,
        r#"[{"name":"blue","mac":"02:00:00:00:AA:01"},{"name":"red","mac":"02-00-00-00-bb-02"}]"#,
    );
    // Another owner holds BLUE: under `reject` a requested MAC would fail, an untouched one not.
    let other = with_networks(
        &pod("default", "q", None, None),
        &format!(r#"[{{"name":"blue","mac":"{BLUE}"}}]"#),
    );
    let mut other = other;
    other["metadata"]["labels"] = json!({"kubemacpool.io/tracked": "true", "kubemacpool.io/indexed": "v1", "mac-block.kubemacpool.io/aa": ""});
    let (response, cluster) = update_on(
        MemoryCluster::new(vec![], vec![other]),
        &old,
        &new,
        json!({ "duplicateMacs": "reject" }),
    );
    assert!(response.accepted, "{:?}", response.message);
    assert_eq!(response.mutated_object, None, "the value stays as written");
    assert!(cluster.calls().is_empty());
}

fn holder_of(mac: &str) -> MemoryCluster {
    let mut db = vm(
        "prod",
        "db",
        vec![json!({"name": "blue", "bridge": {}, "macAddress": mac})],
        vec![json!({"name": "blue", "multus": {"networkName": "blue"}})],
    );
    db["metadata"]["labels"] = json!({
        "kubemacpool.io/indexed": "v2",
        span_label("VirtualMachine", &mac[12..14]): ""
    });
    MemoryCluster::new(vec![db], vec![])
}

#[test]
fn a_changed_mac_is_a_requested_mac_warned_about_under_warn() {
    let old = running_pod();
    let taken = "02:00:00:00:cc:03";
    let new = with_networks(
        &old,
        &format!(r#"[{{"name":"blue","mac":"{taken}"}},{{"name":"red"}}]"#),
    );
    let (response, _) = update_on(holder_of(taken), &old, &new, json!({}));
    assert_eq!(macs(mutated(&response)), [taken, RED]);
    assert_eq!(
        response.warnings.as_deref().unwrap_or_default(),
        [format!(
            "MAC address {taken} requested for network blue is already used by VirtualMachine prod/db"
        )]
    );
}

#[test]
fn a_changed_mac_is_a_requested_mac_refused_under_reject() {
    let old = running_pod();
    let taken = "02:00:00:00:cc:03";
    let new = with_networks(&old, &format!(r#"[{{"name":"blue","mac":"{taken}"}}]"#));
    let (response, _) = update_on(
        holder_of(taken),
        &old,
        &new,
        json!({ "duplicateMacs": "reject" }),
    );
    assert_eq!(
        rejection(&response),
        format!(
            "failed to allocate requested mac address: {taken} is used by VirtualMachine prod/db"
        )
    );
    assert_eq!(response.code, Some(409));
}

#[test]
fn a_hotplugged_network_gets_a_fresh_mac_never_one_of_the_old_object() {
    let old = running_pod();
    let new = with_networks(
        &old,
        &format!(
            r#"[{{"name":"blue","mac":"{BLUE}"}},{{"name":"red","mac":"{RED}"}},{{"name":"green"}}]"#
        ),
    );
    let (response, cluster) = update(&old, &new, json!({}));
    let got = macs(mutated(&response));
    assert_eq!(got[..2], [BLUE, RED]);
    assert!(![BLUE, RED, ""].contains(&got[2].as_str()));
    assert!(
        !cluster.calls().is_empty(),
        "an allocation makes the mode's calls"
    );

    // In a two-address pool holding the old MACs, the hotplug finds no free address.
    let pool = json!({ "rangeStart": BLUE, "rangeEnd": RED, "excludedMacs": ["02:00:00:00:aa:02-02:00:00:00:bb:01"] });
    let (response, _) = update(&old, &new, pool);
    assert_eq!(rejection(&response), "the range is full");
}

#[test]
fn a_matched_old_element_without_a_mac_gives_nothing_back_so_the_element_is_allocated() {
    let old = with_networks(&running_pod(), r#"[{"name":"blue","mac":"not-a-mac"}]"#);
    let new = with_networks(&old, r#"[{"name":"blue"}]"#);
    let (response, _) = update(&old, &new, json!({}));
    let got = macs(mutated(&response));
    assert!(got[0].starts_with("02:"), "allocated: {got:?}");
}

// --- Step 5: what is written ----------------------------------------------------------------

#[test]
fn restoring_alone_makes_no_host_call_in_any_mode() {
    let old = running_pod();
    let new = with_networks(&old, r#"[{"name":"blue"},{"name":"red"}]"#);
    for mode in MODES {
        for duplicates in ["warn", "reject", "allow"] {
            let (response, cluster) = update(
                &old,
                &new,
                json!({ "inventory": mode, "duplicateMacs": duplicates }),
            );
            assert_eq!(macs(mutated(&response)), [BLUE, RED], "{mode}");
            assert!(cluster.calls().is_empty(), "{mode} {duplicates}");
        }
    }
}

#[test]
fn a_value_with_nothing_restored_or_allocated_stays_exactly_as_written() {
    let old = running_pod();
    // A new key and blanks around the JSON: only a rewrite would change the spelling.
    let value = format!(
        r#"[ {{"name":"blue","mac":"{BLUE}","ips":["10.0.0.5/24"]}}, {{"name":"red","mac":"{RED}"}} ]"#
    );
    let (response, _) = update(&old, &with_networks(&old, &value), json!({}));
    unchanged(&response);
}

#[test]
fn every_key_of_a_restored_element_is_kept_in_order() {
    let old = running_pod();
    let new = with_networks(
        &old,
        r#"[{"name":"blue","x-vendor":{"a":1},"ips":["10.0.0.5/24"]},{"name":"red"}]"#,
    );
    let (response, _) = update(&old, &new, json!({}));
    assert_eq!(
        networks(mutated(&response)),
        format!(
            r#"[{{"name":"blue","x-vendor":{{"a":1}},"ips":["10.0.0.5/24"],"mac":"{BLUE}"}},{{"name":"red","mac":"{RED}"}}]"#
        )
    );
}

#[test]
fn the_span_labels_follow_macs_added_and_removed() {
    let old = running_pod();
    // red removed, green hotplugged.
    let new = with_networks(
        &old,
        &format!(r#"[{{"name":"blue","mac":"{BLUE}"}},{{"name":"green"}}]"#),
    );
    let (response, _) = update(&old, &new, json!({}));
    let result = mutated(&response);
    let green = &macs(result)[1];
    let mut expected = vec!["a0-af".to_string(), span("Pod", &green[12..14])];
    expected.sort();
    expected.dedup();
    assert_eq!(spans_labelled(result), expected);

    // Every element removed: no span label left, `tracked` and `indexed` kept.
    let (response, _) = update(&old, &with_networks(&old, "[]"), json!({}));
    let result = mutated(&response);
    assert!(spans_labelled(result).is_empty());
    assert_eq!(result["metadata"]["labels"]["kubemacpool.io/indexed"], "v2");
}

#[test]
fn an_untracked_pod_that_gains_a_mac_gets_the_tracking_and_index_labels() {
    let old = pod("default", "p", None, None);
    let new = with_networks(&old, r#"[{"name":"blue"}]"#);
    let (response, _) = update(&old, &new, json!({}));
    let result = mutated(&response);
    let labels = &result["metadata"]["labels"];
    assert_eq!(labels["kubemacpool.io/tracked"], "true");
    assert_eq!(labels["kubemacpool.io/indexed"], "v2");
    assert_eq!(spans_labelled(result).len(), 1);
}

#[test]
fn a_dry_run_update_gets_the_same_answer() {
    let old = running_pod();
    let new = with_networks(&old, r#"[{"name":"blue"},{"name":"green"}]"#);
    let wet = review("UPDATE", &new, Some(&old), json!({}));
    let mut dry: Value = serde_json::from_slice(&wet).unwrap();
    dry["request"]["dryRun"] = json!(true);
    let cluster = MemoryCluster::default();
    assert_eq!(
        serde_json::to_string(&run(&wet, &cluster)).unwrap(),
        serde_json::to_string(&run(&serde_json::to_vec(&dry).unwrap(), &cluster)).unwrap()
    );
}

// --- The CREATE answer, re-applied ----------------------------------------------------------

#[test]
fn re_applying_the_manifest_of_a_created_pod_restores_its_macs_and_a_second_re_apply_changes_nothing()
 {
    let manifest = r#"[{"name":"blue","interface":"net1"},{"name":"red","ips":["10.1.0.9/24"]}]"#;
    let created = stored(manifest);
    let reapplied = with_networks(&created, manifest);
    let (response, cluster) = update(&created, &reapplied, json!({}));
    let result = mutated(&response).clone();
    assert_eq!(networks(&result), networks(&created));
    assert_eq!(result["metadata"]["labels"], created["metadata"]["labels"]);
    assert!(cluster.calls().is_empty());

    let (response, _) = update(&result, &result, json!({}));
    unchanged(&response);
}
