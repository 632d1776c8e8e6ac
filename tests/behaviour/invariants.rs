//! End-to-end invariants (issue 7), for whatever request, settings and inventory proptest
//! draws: a VM or Pod admission is checked against a model of behaviour.md sections 4-7
//! written here from the spec, not from the policy's code.
//!
//! - an interface that existed on UPDATE never changes its MAC unless the user changed it;
//! - an allocated MAC is in range, not excluded, not multicast, not used, and never handed
//!   out twice in one request; a rejection happens exactly when the model says it must;
//! - the response is a pure function of request, settings and inventory: evaluating again, or
//!   with the host listing the objects in another order, gives byte-identical output;
//! - the JSON Patch touches only `macAddress`, the Multus annotation and the index labels,
//!   which match the MACs the object holds.

use std::collections::{BTreeSet, HashMap};

use crate::common::*;
use kubemacpool_policy::mac::Mac;
use kubewarden_policy_sdk::response::ValidationResponse;
use proptest::prelude::*;
use serde_json::{Value, json};

const TRACKED: &str = "kubemacpool.io/tracked";
const INDEXED: &str = "kubemacpool.io/indexed";
const SPAN_PREFIX: &str = "mac-blocks.kubemacpool.io/";
const V1_BLOCK_PREFIX: &str = "mac-block.kubemacpool.io/";

/// A pool and the addresses that cases draw MACs from: the pool's addresses and a few on
/// either side of it, so that requested and inventory MACs fall both in and out of range.
#[derive(Debug, Clone)]
struct PoolModel {
    start: u64,
    end: u64,
    excluded: BTreeSet<u64>,
    universe: Vec<u64>,
}

impl PoolModel {
    /// `spans_multicast`: a range that crosses the whole multicast octet 03 (2^40 addresses
    /// the pool must skip); otherwise a 32-address range where collisions are forced.
    fn new(spans_multicast: bool, excluded: &[u8]) -> PoolModel {
        let (start, end, universe): (u64, u64, Vec<u64>) = if spans_multicast {
            let (low, high) = (0x02ff_ffff_fff8, 0x0400_0000_0007);
            let below = (0x02ff_ffff_fff0..=0x02ff_ffff_ffff).collect::<Vec<_>>();
            let above = (0x0400_0000_0000..=0x0400_0000_000f).collect::<Vec<_>>();
            (low, high, [below, above].concat())
        } else {
            let start = 0x0200_0000_0000;
            (start, start + 31, (start - 4..=start + 35).collect())
        };
        let excluded = excluded
            .iter()
            .map(|&i| universe[i as usize % universe.len()])
            .collect();
        PoolModel {
            start,
            end,
            excluded,
            universe,
        }
    }

    fn contains(&self, mac: u64) -> bool {
        (self.start..=self.end).contains(&mac)
            && !self.excluded.contains(&mac)
            && (mac >> 40) & 1 == 0
    }

    fn pick(&self, index: u8) -> u64 {
        self.universe[index as usize % self.universe.len()]
    }

    fn free(&self, used: &BTreeSet<u64>) -> usize {
        self.universe
            .iter()
            .filter(|&&m| self.contains(m) && !used.contains(&m))
            .count()
    }

    fn settings(&self, duplicate_macs: &str) -> Value {
        json!({
            "rangeStart": normal(self.start),
            "rangeEnd": normal(self.end),
            "excludedMacs": self.excluded.iter().map(|&m| normal(m)).collect::<Vec<_>>(),
            "duplicateMacs": duplicate_macs,
        })
    }
}

fn normal(mac: u64) -> String {
    Mac::from_u64(mac).to_string()
}

/// A MAC as a user may write it: any of the three accepted spellings, either case.
fn spell(mac: u64, style: u8) -> String {
    let n = normal(mac);
    let written = match style % 3 {
        0 => n,
        1 => n.replace(':', "-"),
        _ => {
            let hex = n.replace(':', "");
            format!("{}.{}.{}", &hex[0..4], &hex[4..8], &hex[8..12])
        }
    };
    if style & 4 != 0 {
        written.to_uppercase()
    } else {
        written
    }
}

fn parse(mac: &str) -> u64 {
    Mac::parse(mac).expect("a MAC the model wrote").to_u64()
}

const MODES: [&str; 3] = ["warn", "reject", "allow"];

/// MACs held by other objects: VMs with bridge interfaces on Multus networks, and pods with
/// MACs in their Multus annotation, all in namespace `prod`.
fn inventory(pool: &PoolModel, vms: &[Vec<u8>], pods: &[Vec<u8>]) -> (Vec<Value>, Vec<Value>) {
    let vms = vms
        .iter()
        .enumerate()
        .map(|(i, macs)| {
            let names: Vec<String> = (0..macs.len()).map(|j| format!("n{j}")).collect();
            vm(
                "prod",
                &format!("vm-{i}"),
                names
                    .iter()
                    .zip(macs)
                    .map(|(n, &m)| iface(n, "bridge", Some(&normal(pool.pick(m)))))
                    .collect(),
                names.iter().map(|n| multus_net(n)).collect(),
            )
        })
        .collect();
    let pods = pods
        .iter()
        .enumerate()
        .map(|(i, macs)| {
            let networks: Vec<Value> = macs
                .iter()
                .map(|&m| json!({ "name": "blue", "mac": normal(pool.pick(m)) }))
                .collect();
            pod(
                "prod",
                &format!("pod-{i}"),
                Some(&Value::Array(networks).to_string()),
                None,
            )
        })
        .collect();
    (vms, pods)
}

fn held_by(pool: &PoolModel, vms: &[Vec<u8>], pods: &[Vec<u8>]) -> BTreeSet<u64> {
    vms.iter()
        .chain(pods)
        .flatten()
        .map(|&m| pool.pick(m))
        .collect()
}

/// Evaluates with the host listing the inventory forwards and then rotated and reversed:
/// the two responses must be byte-identical, and evaluating is repeatable.
fn evaluate_in_any_order(
    payload: &[u8],
    vms: &[Value],
    pods: &[Value],
    rotation: usize,
) -> ValidationResponse {
    let forward = evaluate(payload, &cluster(vms, pods));
    let mut vms = vms.to_vec();
    let mut pods = pods.to_vec();
    vms.reverse();
    pods.reverse();
    if !pods.is_empty() {
        let k = rotation % pods.len();
        pods.rotate_left(k);
    }
    let shuffled = evaluate(payload, &cluster(&vms, &pods));
    assert_eq!(
        serde_json::to_string(&forward).unwrap(),
        serde_json::to_string(&shuffled).unwrap(),
        "the answer depends on the order of the inventory"
    );
    forward
}

/// The JSON Patch a host computes from the response (as policy-server and kwctl do), and the
/// paths it touches.
fn patch_paths(original: &Value, response: &ValidationResponse) -> Vec<String> {
    match &response.mutated_object {
        None => Vec::new(),
        Some(mutated) => json_patch::diff(original, mutated)
            .0
            .iter()
            .map(|op| op.path().to_string())
            .collect(),
    }
}

/// An allocated MAC: normal form, in the pool, not used, and not already handed out.
fn check_allocated(
    got: &str,
    pool: &PoolModel,
    used: &BTreeSet<u64>,
    allocated: &mut BTreeSet<u64>,
) {
    let mac = parse(got);
    assert_eq!(
        got,
        normal(mac),
        "allocated MACs are written in normal form"
    );
    assert!(pool.contains(mac), "{got} is outside the pool");
    assert!(!used.contains(&mac), "{got} is already used");
    assert!(allocated.insert(mac), "{got} handed out twice");
}

/// `warn` names every requested MAC another object holds; the other modes never warn.
fn check_warnings(mode: &str, requested_in_use: bool, response: ValidationResponse) {
    let warnings = response.warnings.unwrap_or_default();
    match mode {
        "warn" => assert_eq!(requested_in_use, !warnings.is_empty(), "{warnings:?}"),
        _ => assert!(warnings.is_empty(), "{warnings:?}"),
    }
}

/// behaviour.md 7.1: the labels of an admitted object are the index labels of the MACs it
/// holds (a span label per span of its kind holding one, no `v1` block label, `tracked` when it
/// holds one, `indexed: v2` on every
/// handled VM and every Pod holding one), every other label as it was.
fn check_index_labels(original: &Value, result: &Value, held: &[u64], vm: bool) {
    let empty = serde_json::Map::new();
    let before = original["metadata"]["labels"].as_object().unwrap_or(&empty);
    let after = result["metadata"]["labels"].as_object().unwrap_or(&empty);
    let index_key = |k: &str| {
        k.starts_with(SPAN_PREFIX) || k.starts_with(V1_BLOCK_PREFIX) || k == TRACKED || k == INDEXED
    };
    let others = |labels: &serde_json::Map<String, Value>| {
        labels
            .iter()
            .filter(|(k, _)| !index_key(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(others(before), others(after), "only index labels change");
    let kind = if vm { "VirtualMachine" } else { "Pod" };
    let spans: BTreeSet<String> = held
        .iter()
        .map(|m| span_label(kind, &format!("{:02x}", (m >> 8) & 0xff)))
        .collect();
    let written: BTreeSet<String> = after
        .keys()
        .filter(|k| k.starts_with(SPAN_PREFIX))
        .cloned()
        .collect();
    assert_eq!(written, spans, "a span label per span held, no other");
    assert!(spans.iter().all(|b| after[b] == json!("")));
    assert!(
        !after.keys().any(|k| k.starts_with(V1_BLOCK_PREFIX)),
        "no v1 block label"
    );
    let holds = !held.is_empty();
    if holds {
        assert_eq!(after.get(TRACKED), Some(&json!("true")));
    } else {
        assert_eq!(
            after.get(TRACKED),
            before.get(TRACKED),
            "tracked is never removed"
        );
    }
    if holds || vm {
        assert_eq!(after.get(INDEXED), Some(&json!("v2")));
    } else {
        assert_eq!(after.get(INDEXED), before.get(INDEXED));
    }
}

// ---------------------------------------------------------------------------------------
// VirtualMachines

const IFACE_NAMES: [&str; 5] = ["default", "blue", "green", "red", "yellow"];
const BINDINGS: [&str; 3] = ["masquerade", "bridge", "sriov"];

#[derive(Debug, Clone)]
struct IfaceSpec {
    name: usize,
    binding: usize,
    multus: bool,
    mac: Option<(u8, u8)>,
}

fn iface_spec() -> impl Strategy<Value = IfaceSpec> {
    (
        0..IFACE_NAMES.len(),
        0..BINDINGS.len(),
        any::<bool>(),
        proptest::option::weighted(0.4, (any::<u8>(), any::<u8>())),
    )
        .prop_map(|(name, binding, multus, mac)| IfaceSpec {
            name,
            binding,
            multus,
            mac,
        })
}

/// Interfaces with unique names (duplicate names are a table test of their own).
fn iface_specs() -> impl Strategy<Value = Vec<IfaceSpec>> {
    proptest::collection::vec(iface_spec(), 0..5).prop_map(|mut specs| {
        let mut seen = BTreeSet::new();
        specs.retain(|s| seen.insert(s.name));
        specs
    })
}

/// A model interface: name, eligibility, and the MAC as written.
struct Nic {
    name: &'static str,
    eligible: bool,
    mac: Option<String>,
}

fn nics(pool: &PoolModel, specs: &[IfaceSpec]) -> Vec<Nic> {
    specs
        .iter()
        .map(|s| Nic {
            name: IFACE_NAMES[s.name],
            // behaviour.md 5.3: masquerade, or any binding on a Multus network.
            eligible: BINDINGS[s.binding] == "masquerade" || s.multus,
            mac: s.mac.map(|(m, style)| spell(pool.pick(m), style)),
        })
        .collect()
}

fn vm_object(nics: &[Nic], specs: &[IfaceSpec], labelled: bool) -> Value {
    let interfaces = nics
        .iter()
        .zip(specs)
        .map(|(n, s)| iface(n.name, BINDINGS[s.binding], n.mac.as_deref()))
        .collect();
    let networks = nics
        .iter()
        .zip(specs)
        .map(|(n, s)| {
            if s.multus {
                multus_net(n.name)
            } else {
                pod_net(n.name)
            }
        })
        .collect();
    let mut object = vm("default", "vm1", interfaces, networks);
    if labelled {
        object["metadata"]["labels"] = json!({ "app": "db" });
    }
    object
}

#[derive(Debug, Clone)]
struct VmCase {
    spans_multicast: bool,
    excluded: Vec<u8>,
    mode: usize,
    inventory_vms: Vec<Vec<u8>>,
    inventory_pods: Vec<Vec<u8>>,
    interfaces: Vec<IfaceSpec>,
    old_interfaces: Option<Vec<IfaceSpec>>,
    labelled: bool,
    rotation: usize,
}

fn macs() -> impl Strategy<Value = Vec<Vec<u8>>> {
    proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3), 0..6)
}

fn vm_case() -> impl Strategy<Value = VmCase> {
    (
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..6),
        0..MODES.len(),
        macs(),
        macs(),
        iface_specs(),
        proptest::option::of(iface_specs()),
        any::<bool>(),
        any::<usize>(),
    )
        .prop_map(
            |(
                spans_multicast,
                excluded,
                mode,
                inventory_vms,
                inventory_pods,
                interfaces,
                old_interfaces,
                labelled,
                rotation,
            )| VmCase {
                spans_multicast,
                excluded,
                mode,
                inventory_vms,
                inventory_pods,
                interfaces,
                old_interfaces,
                labelled,
                rotation,
            },
        )
}

/// What the model says must become of one interface.
enum Expect {
    Exactly(String),
    Allocated,
    Nothing,
}

fn check_vm_case(case: VmCase) {
    let pool = PoolModel::new(case.spans_multicast, &case.excluded);
    let mode = MODES[case.mode];
    let (vms, pods) = inventory(&pool, &case.inventory_vms, &case.inventory_pods);
    let held = held_by(&pool, &case.inventory_vms, &case.inventory_pods);

    let new = nics(&pool, &case.interfaces);
    let object = vm_object(&new, &case.interfaces, case.labelled);
    let old_specs = case.old_interfaces.as_deref();
    let old = old_specs
        .map(|specs| nics(&pool, specs))
        .unwrap_or_default();
    let old_object = old_specs.map(|specs| vm_object(&old, specs, case.labelled));
    let old_mac: HashMap<&str, &str> = old
        .iter()
        .filter_map(|n| Some((n.name, n.mac.as_deref()?)))
        .collect();

    // The model of behaviour.md 5.4-5.5 and 6.
    let expect: Vec<Expect> = new
        .iter()
        .map(|n| match (&n.mac, old_mac.get(n.name)) {
            (Some(mac), _) => Expect::Exactly(mac.clone()),
            (None, Some(restored)) => Expect::Exactly(restored.to_string()),
            (None, None) if n.eligible => Expect::Allocated,
            (None, None) => Expect::Nothing,
        })
        .collect();
    let mut used: BTreeSet<u64> = held.clone();
    used.extend(
        old.iter()
            .chain(&new)
            .filter_map(|n| n.mac.as_deref().map(parse)),
    );
    let mut finals = BTreeSet::new();
    let duplicate = expect.iter().any(|e| match e {
        Expect::Exactly(mac) => !finals.insert(parse(mac)),
        _ => false,
    });
    let requested_in_use = new.iter().any(|n| {
        let changed = n.mac.as_deref().map(parse) != old_mac.get(n.name).map(|m| parse(m));
        n.eligible && changed && n.mac.as_deref().is_some_and(|m| held.contains(&parse(m)))
    });
    let blanks = expect
        .iter()
        .filter(|e| matches!(e, Expect::Allocated))
        .count();
    let full = blanks > pool.free(&used);

    let operation = if old_object.is_some() {
        "UPDATE"
    } else {
        "CREATE"
    };
    let payload = vm_payload(operation, &object, old_object.as_ref(), pool.settings(mode));
    let response = evaluate_in_any_order(&payload, &vms, &pods, case.rotation);

    let wrapper = match operation {
        "CREATE" => {
            "Failed to create virtual machine allocation error: Failed to allocate mac to the vm object: "
        }
        _ => "Failed to update virtual machine allocation error: ",
    };
    if duplicate {
        let message = rejection(&response);
        assert!(
            message.starts_with(&format!("{wrapper}duplicate MAC address ")),
            "{message}"
        );
        return;
    }
    if requested_in_use && mode == "reject" {
        let message = rejection(&response);
        assert!(
            message.starts_with(&format!(
                "{wrapper}failed to allocate requested mac address: "
            )),
            "{message}"
        );
        return;
    }
    if full {
        assert_eq!(rejection(&response), format!("{wrapper}the range is full"));
        return;
    }
    assert!(response.accepted, "rejected: {:?}", response.message);

    let result = response.mutated_object.as_ref().unwrap_or(&object);
    let mut allocated = BTreeSet::new();
    for (index, expect) in expect.iter().enumerate() {
        let got = vm_mac(result, index);
        match expect {
            Expect::Exactly(mac) => assert_eq!(got, Some(mac.as_str()), "interface {index}"),
            Expect::Nothing => assert_eq!(got, None, "interface {index}"),
            Expect::Allocated => {
                check_allocated(got.expect("an allocated MAC"), &pool, &used, &mut allocated)
            }
        }
    }

    for path in patch_paths(&object, &response) {
        if !path.starts_with("/metadata/labels") {
            let index = path
                .strip_prefix("/spec/template/spec/domain/devices/interfaces/")
                .and_then(|rest| rest.strip_suffix("/macAddress"))
                .unwrap_or_else(|| panic!("the patch touches {path}"));
            assert!(index.parse::<usize>().is_ok(), "the patch touches {path}");
        }
    }
    let held_after: Vec<u64> = new
        .iter()
        .enumerate()
        .filter(|(_, n)| n.eligible)
        .filter_map(|(index, _)| vm_mac(result, index).map(parse))
        .collect();
    check_index_labels(&object, result, &held_after, true);

    check_warnings(mode, requested_in_use, response);
}

// ---------------------------------------------------------------------------------------
// Pods

#[derive(Debug, Clone)]
struct ElementSpec {
    name: usize,
    namespace: bool,
    /// `None`: no `mac` key; `Some(None)`: `"mac": ""`; `Some(Some(..))`: a MAC.
    mac: Option<Option<(u8, u8)>>,
    unknown_key: bool,
}

#[derive(Debug, Clone)]
struct PodCase {
    spans_multicast: bool,
    excluded: Vec<u8>,
    mode: usize,
    inventory_vms: Vec<Vec<u8>>,
    inventory_pods: Vec<Vec<u8>>,
    elements: Vec<ElementSpec>,
    labelled: bool,
    rotation: usize,
}

fn element_spec() -> impl Strategy<Value = ElementSpec> {
    (
        0..IFACE_NAMES.len(),
        any::<bool>(),
        proptest::option::weighted(
            0.6,
            proptest::option::weighted(0.9, (any::<u8>(), any::<u8>())),
        ),
        any::<bool>(),
    )
        .prop_map(|(name, namespace, mac, unknown_key)| ElementSpec {
            name,
            namespace,
            mac,
            unknown_key,
        })
}

fn pod_case() -> impl Strategy<Value = PodCase> {
    (
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..6),
        0..MODES.len(),
        macs(),
        macs(),
        proptest::collection::vec(element_spec(), 0..5),
        any::<bool>(),
        any::<usize>(),
    )
        .prop_map(
            |(
                spans_multicast,
                excluded,
                mode,
                inventory_vms,
                inventory_pods,
                elements,
                labelled,
                rotation,
            )| PodCase {
                spans_multicast,
                excluded,
                mode,
                inventory_vms,
                inventory_pods,
                elements,
                labelled,
                rotation,
            },
        )
}

fn check_pod_case(case: PodCase) {
    let pool = PoolModel::new(case.spans_multicast, &case.excluded);
    let mode = MODES[case.mode];
    let (vms, pods) = inventory(&pool, &case.inventory_vms, &case.inventory_pods);
    let held = held_by(&pool, &case.inventory_vms, &case.inventory_pods);

    let elements: Vec<Value> = case
        .elements
        .iter()
        .map(|e| {
            let mut element = json!({ "name": format!("{}-net", IFACE_NAMES[e.name]) });
            if e.namespace {
                element["namespace"] = json!("prod");
            }
            match e.mac {
                None => {}
                Some(None) => element["mac"] = json!(""),
                Some(Some((m, style))) => element["mac"] = json!(spell(pool.pick(m), style)),
            }
            if e.unknown_key {
                element["x-custom"] = json!({ "kept": [1, "two"] });
            }
            element
        })
        .collect();
    let annotation = Value::Array(elements.clone()).to_string();
    let mut object = pod("default", "p", Some(&annotation), None);
    if !case.labelled {
        object["metadata"].as_object_mut().unwrap().remove("labels");
    }

    let requested: Vec<u64> = elements
        .iter()
        .filter_map(|e| e["mac"].as_str().filter(|m| !m.is_empty()).map(parse))
        .collect();
    let used: BTreeSet<u64> = held.iter().chain(&requested).copied().collect();
    let blanks = elements.len() - requested.len();
    let requested_in_use = requested.iter().any(|m| held.contains(m));

    let payload = pod_payload(&object, pool.settings(mode));
    let response = evaluate_in_any_order(&payload, &vms, &pods, case.rotation);

    if requested_in_use && mode == "reject" {
        let message = rejection(&response);
        assert!(
            message.starts_with("failed to allocate requested mac address: "),
            "{message}"
        );
        return;
    }
    if blanks > pool.free(&used) {
        assert_eq!(rejection(&response), "the range is full");
        return;
    }
    assert!(response.accepted, "rejected: {:?}", response.message);

    let result = response.mutated_object.as_ref().unwrap_or(&object);
    let written = pod_networks(result);
    let written = written.as_array().expect("a JSON list");
    assert_eq!(written.len(), elements.len());
    let mut allocated = BTreeSet::new();
    for (before, after) in elements.iter().zip(written) {
        let mut rest = after.clone();
        let mac = rest.as_object_mut().unwrap().remove("mac");
        let mut before_rest = before.clone();
        let given = before_rest.as_object_mut().unwrap().remove("mac");
        assert_eq!(rest, before_rest, "every other key is kept as it was");
        match given
            .as_ref()
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
        {
            Some(given) => assert_eq!(mac.as_ref().and_then(Value::as_str), Some(given)),
            None => check_allocated(
                mac.as_ref()
                    .and_then(Value::as_str)
                    .expect("an allocated mac"),
                &pool,
                &used,
                &mut allocated,
            ),
        }
    }

    for path in patch_paths(&object, &response) {
        if !path.starts_with("/metadata/labels") {
            assert_eq!(path, "/metadata/annotations/k8s.v1.cni.cncf.io~1networks");
        }
    }
    let held_after: Vec<u64> = written
        .iter()
        .filter_map(|e| e["mac"].as_str().map(parse))
        .collect();
    check_index_labels(&object, result, &held_after, false);
    check_warnings(mode, requested_in_use, response);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn vm_admissions_keep_every_invariant(case in vm_case()) {
        check_vm_case(case);
    }

    #[test]
    fn pod_admissions_keep_every_invariant(case in pod_case()) {
        check_pod_case(case);
    }
}

/// The inventory generator and the model agree on what is held: a fixed case whose answer
/// is known, so that the properties above cannot pass on an empty inventory by accident.
#[test]
fn the_model_sees_the_inventory_the_policy_sees() {
    let pool = PoolModel::new(false, &[]);
    // Every pool address but the last is held, by VMs and pods alternately.
    let vms: Vec<Vec<u8>> = (4u8..35).step_by(2).map(|i| vec![i]).collect();
    let pods: Vec<Vec<u8>> = (5u8..35).step_by(2).map(|i| vec![i]).collect();
    let (vm_items, pod_items) = inventory(&pool, &vms, &pods);
    assert_eq!(pool.free(&held_by(&pool, &vms, &pods)), 1);
    let object = vm_object(
        &nics(
            &pool,
            &[IfaceSpec {
                name: 1,
                binding: 1,
                multus: true,
                mac: None,
            }],
        ),
        &[IfaceSpec {
            name: 1,
            binding: 1,
            multus: true,
            mac: None,
        }],
        false,
    );
    let response = evaluate(
        &vm_payload("CREATE", &object, None, pool.settings("warn")),
        &cluster(&vm_items, &pod_items),
    );
    assert_eq!(vm_mac(mutated(&response), 0), Some("02:00:00:00:00:1f"));
}
