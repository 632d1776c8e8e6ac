//! Pods (behaviour.md section 4): MACs for the Multus network-selection annotation on CREATE;
//! on UPDATE the annotation keeps its MACs (section 4.1), and an unchanged one only gets its
//! index labels repaired (section 7.1).

pub mod plan;

use kubewarden_policy_sdk::host_capabilities::kubernetes::GetResourceRequest;
use serde::Deserialize;
use serde_json::Value;

use crate::admission::{Operation, Request};
use crate::allocation::plan::{Slot, carry_out};
use crate::allocation::{AllocationError, Subject};
use crate::audit;
use crate::host::{Cluster, HostError};
use crate::index::{IndexLabels, Indexed, write_labels};
use crate::inventory::VM_LIST;
use crate::keys::NETWORKS_ANNOTATION;
use crate::mac::{Mac, ParseMacError};
use crate::object::metadata::PodMetadata;
use crate::object::multus::{self, Selection, SelectionError, is_short_form};
use crate::object::owner::{Identity, Kind};
use crate::settings::{PodShortForm, Settings};
use crate::verdict::Verdict;

/// Why a pod is rejected. `Display` is the message users see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PodError {
    #[error("cannot read the Pod: {0}")]
    Unreadable(String),
    #[error(transparent)]
    Selection(SelectionError),
    #[error(transparent)]
    InvalidMac(ParseMacError),
    #[error(transparent)]
    Allocation(#[from] AllocationError),
}

impl PodError {
    fn code(&self) -> u16 {
        match self {
            PodError::Allocation(e) => e.code(),
            _ => 400,
        }
    }
}

/// A Pod CREATE or UPDATE, or an audit re-evaluation of a stored Pod.
pub fn handle(request: &Request<'_>, settings: &Settings, cluster: &impl Cluster) -> Verdict {
    let outcome = match request.operation {
        _ if request.audit => collisions(request, settings, cluster),
        Operation::Update if keeps_networks(request, settings) => Ok(reindex(request)),
        operation => mutate(request, operation, settings, cluster),
    };
    answer(outcome)
}

fn answer(outcome: Result<Verdict, PodError>) -> Verdict {
    outcome.unwrap_or_else(|e| Verdict::Reject {
        message: e.to_string(),
        code: e.code(),
    })
}

fn read_metadata(object: &Value) -> Result<PodMetadata<'_>, PodError> {
    match object.get("metadata") {
        Some(metadata) => {
            PodMetadata::deserialize(metadata).map_err(|e| PodError::Unreadable(e.to_string()))
        }
        None => Ok(PodMetadata::default()),
    }
}

/// The identity duplicate checks use: a launcher pod is one owner with its VM.
fn identity<'a>(namespace: &'a str, metadata: &'a PodMetadata<'a>) -> Identity<'a> {
    Identity::of(Kind::Pod, namespace, &metadata.name, metadata.launcher_of())
}

/// The MACs the elements of `selection` request, in order; `None` for a blank.
fn requested_macs(selection: &Selection) -> Result<Vec<Option<Mac>>, PodError> {
    (0..selection.count())
        .map(|index| {
            selection
                .mac(index)
                .map(|mac| Mac::parse(mac).map_err(PodError::InvalidMac))
                .transpose()
        })
        .collect()
}

/// An audit re-evaluation of a stored pod (behaviour.md section 10): every MAC of its Multus
/// annotation against the other owners. Unlike an admission it reads pods that Multus has
/// already wired (`network-status` set): those are the pods that hold MACs. A launcher pod
/// whose VM exists is left to the VM's audit, which reports the collision once.
fn collisions(
    request: &Request<'_>,
    settings: &Settings,
    cluster: &impl Cluster,
) -> Result<Verdict, PodError> {
    let metadata = read_metadata(request.object)?;
    let Some(value) = metadata.annotations.networks.as_deref() else {
        return Ok(Verdict::accept());
    };
    // The short form names no MAC: nothing to collide.
    if !value.is_empty() && is_short_form(value) {
        return Ok(Verdict::accept());
    }
    let selection = Selection::parse(value).map_err(PodError::Selection)?;
    let namespace = request.namespace(&metadata.namespace);
    if let Some(vmi) = metadata.launcher_of()
        && vm_owns_launcher(cluster, namespace, vmi)
    {
        return Ok(Verdict::accept());
    }
    let held: Vec<(Mac, String)> = requested_macs(&selection)?
        .into_iter()
        .enumerate()
        .filter_map(|(index, mac)| Some((mac?, selection.place(index))))
        .collect();
    let holder = audit::Holder {
        kind: Kind::Pod,
        namespace,
        name: &metadata.name,
        identity: identity(namespace, &metadata),
        labels: IndexLabels::read(request.object, Kind::Pod),
    };
    audit::report(cluster, settings, &holder, &held)
        .map_err(|e| PodError::Allocation(AllocationError::from(e)))
}

fn mutate(
    request: &Request<'_>,
    operation: Operation,
    settings: &Settings,
    cluster: &impl Cluster,
) -> Result<Verdict, PodError> {
    let metadata = read_metadata(request.object)?;
    let annotations = &metadata.annotations;
    let Some(value) = annotations.networks.as_deref() else {
        return Ok(Verdict::accept());
    };
    // A running pod always has `network-status`: only CREATE skips on it (4.1 step 2).
    if operation == Operation::Create && annotations.has_network_status {
        return Ok(Verdict::accept());
    }
    let short_form = !value.is_empty() && is_short_form(value);
    if short_form && settings.pod_short_form == PodShortForm::Ignore {
        return Ok(Verdict::accept());
    }
    let mut selection = Selection::parse(value).map_err(PodError::Selection)?;
    let namespace = request.namespace(&metadata.namespace);
    if let Some(vmi) = metadata.launcher_of()
        && vm_owns_launcher(cluster, namespace, vmi)
    {
        return Ok(Verdict::accept());
    }

    let given = requested_macs(&selection)?;
    // The old value is read as the new one is; one that does not read has no elements.
    let old_value = match operation {
        Operation::Update => networks_value(request.old_object),
        Operation::Create => None,
    };
    let old = old_value.and_then(|old| Selection::parse(old).ok());
    // Without old elements, an UPDATE plans as a CREATE: every element is new.
    let plans = match &old {
        Some(old) => plan::on_update(&selection, &given, old, namespace),
        None => plan::on_create(&given),
    };
    let slots: Vec<Slot> = plans
        .into_iter()
        .enumerate()
        .map(|(index, plan)| Slot {
            plan,
            name: selection.hash_name(index),
            place: selection.place(index),
            holds: true,
        })
        .collect();
    let subject = Subject {
        kind: Kind::Pod,
        namespace,
        hash_name: request.hash_name(&metadata.name, &metadata.generate_name),
        identity: identity(namespace, &metadata),
        duplicates: settings.duplicate_macs,
    };
    // Every MAC the stored pod holds stays out of reach of its new elements (section 6).
    let stored = old_value.into_iter().flat_map(multus::held_macs);
    let carried = carry_out(settings, subject, cluster, &slots, stored)?;
    let mut rewrite = short_form;
    for (index, text) in carried.written.iter().enumerate() {
        if let Some(text) = text {
            selection.set_mac_text(index, text);
            rewrite = true;
        }
    }

    let mut mutated = request.object.clone();
    if rewrite {
        set_networks(&mut mutated, selection.to_annotation());
    }
    write_labels(
        &mut mutated,
        Kind::Pod,
        &carried.holds,
        Indexed::WhenHolding,
    );
    Ok(Verdict::changed(request.object, mutated, carried.warnings))
}

/// 4.1 step 1: the networks value is the same string as before, or gone, or the short form
/// that `podShortForm: ignore` leaves alone. Nothing in it can have lost a MAC.
fn keeps_networks(request: &Request<'_>, settings: &Settings) -> bool {
    let Some(value) = networks_value(request.object) else {
        return true;
    };
    let ignored_short_form = settings.pod_short_form == PodShortForm::Ignore
        && !value.is_empty()
        && is_short_form(value);
    networks_value(request.old_object) == Some(value) || ignored_short_form
}

/// A Pod UPDATE whose networks value holds nothing new (behaviour.md 7.1): a tracked pod's
/// index labels made to match the MACs its annotation holds, and nothing else; no host call.
/// Pods without the tracking label, launcher pods among them, pass unchanged.
fn reindex(request: &Request<'_>) -> Verdict {
    let labels = IndexLabels::read(request.object, Kind::Pod);
    if !labels.tracked {
        return Verdict::accept();
    }
    let held: Vec<Mac> = networks_value(request.object)
        .map(|n| multus::held_macs(n).collect())
        .unwrap_or_default();
    let mut mutated = request.object.clone();
    write_labels(&mut mutated, Kind::Pod, &held, Indexed::WhenHolding);
    Verdict::changed(request.object, mutated, Vec::new())
}

/// The Multus networks annotation of `object`, when it is a string.
fn networks_value(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(NETWORKS_ANNOTATION))
        .and_then(Value::as_str)
}

/// Whether a virt-launcher pod belongs to a VirtualMachine, whose admission owns its MACs.
/// Only a definite "not found" (a standalone VirtualMachineInstance) lets the policy allocate;
/// any other host error leaves the pod to the VM path, as Kubemacpool does.
fn vm_owns_launcher(cluster: &impl Cluster, namespace: &str, vmi: &str) -> bool {
    let request = GetResourceRequest {
        api_version: VM_LIST.api_version.to_string(),
        kind: VM_LIST.kind.to_string(),
        name: vmi.to_string(),
        namespace: Some(namespace.to_string()),
        disable_cache: false,
        field_masks: None,
    };
    match cluster.get_resource(&request) {
        Ok(_) => true,
        Err(HostError::NotFound(_)) => false,
        Err(HostError::Failed(_)) => true,
    }
}

fn set_networks(object: &mut Value, annotation: String) {
    if let Some(annotations) = object
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.insert(NETWORKS_ANNOTATION.to_string(), Value::String(annotation));
    }
}
