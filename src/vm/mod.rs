//! VirtualMachines on CREATE and UPDATE (behaviour.md section 5): Kubemacpool's intra-VM
//! checks, allocation for eligible interfaces, and the UPDATE merge that never changes a MAC
//! the user did not change.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::Value;

use crate::admission::{Operation, Request};
use crate::allocation::plan::{Plan, Slot, carry_out};
use crate::allocation::{AllocationError, Subject};
use crate::audit;
use crate::host::Cluster;
use crate::index::{IndexLabels, Indexed, write_labels};
use crate::mac::{Mac, ParseMacError};
use crate::object::owner::{Identity, Kind};
use crate::object::vm::{Nic, VirtualMachineView};
use crate::settings::{DuplicateMacs, Settings};
use crate::verdict::Verdict;

const INTERFACES_POINTER: &str = "/spec/template/spec/domain/devices/interfaces";

/// Why a VM is rejected. `Display` is Kubemacpool's message without the operation wrapper.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VmError {
    /// The object is not a VirtualMachine the policy can read.
    #[error("cannot read the VirtualMachine: {0}")]
    Unreadable(String),
    #[error("Failed to mutate virtual machine: every interface must have a unique name")]
    DuplicateInterfaceName,
    #[error("invalid MAC address format for interface {interface}: {mac}: {error}")]
    InvalidMac {
        interface: String,
        error: ParseMacError,
        mac: String,
    },
    #[error("duplicate MAC address {mac} found on interfaces: {first} and {second}")]
    DuplicateMac {
        mac: Mac,
        first: String,
        second: String,
    },
    #[error(transparent)]
    Allocation(#[from] AllocationError),
}

impl VmError {
    fn code(&self) -> u16 {
        match self {
            VmError::Allocation(e) => e.code(),
            _ => 400,
        }
    }

    /// Kubemacpool's wrapper, which every VM rejection carries.
    pub fn message(&self, operation: Operation) -> String {
        match operation {
            Operation::Create => format!(
                "Failed to create virtual machine allocation error: Failed to allocate mac to the vm object: {self}"
            ),
            Operation::Update => {
                format!("Failed to update virtual machine allocation error: {self}")
            }
        }
    }
}

/// A VM CREATE or UPDATE, or an audit re-evaluation of a stored VM.
pub fn handle(request: &Request<'_>, settings: &Settings, cluster: &impl Cluster) -> Verdict {
    answer(checked(request, settings, cluster), request.operation)
}

/// Kubemacpool's checks on every handled VM (unique interface names, MACs that parse), then
/// the audit or the admission.
fn checked(
    request: &Request<'_>,
    settings: &Settings,
    cluster: &impl Cluster,
) -> Result<Verdict, VmError> {
    let Some(vm) = handled(request)? else {
        return Ok(Verdict::accept());
    };
    let nics = vm.nics();
    check_unique_names(&nics)?;
    let macs = parse_macs(&nics)?;
    let interfaces = Interfaces {
        vm: &vm,
        nics: &nics,
        macs: &macs,
    };
    if request.audit {
        collisions(request, &interfaces, settings, cluster)
    } else {
        mutate(request, &interfaces, settings, cluster)
    }
}

/// A handled VM with its interfaces and their parsed MACs.
struct Interfaces<'v> {
    vm: &'v VirtualMachineView<'v>,
    nics: &'v [Nic<'v>],
    macs: &'v [Option<Mac>],
}

fn answer(outcome: Result<Verdict, VmError>, operation: Operation) -> Verdict {
    outcome.unwrap_or_else(|e| Verdict::Reject {
        message: e.message(operation),
        code: e.code(),
    })
}

/// An audit re-evaluation of a stored VM (behaviour.md section 10): the VM's own checks as on
/// admission, then the MAC of every eligible interface against the other owners. Nothing is
/// allocated and nothing written.
fn collisions(
    request: &Request<'_>,
    &Interfaces { vm, nics, macs }: &Interfaces<'_>,
    settings: &Settings,
    cluster: &impl Cluster,
) -> Result<Verdict, VmError> {
    let kept: Vec<Plan> = macs.iter().map(|mac| Plan::Keep(*mac)).collect();
    check_duplicates(nics, &kept)?;
    let held: Vec<(Mac, String)> = nics
        .iter()
        .zip(macs)
        .filter(|(nic, _)| nic.eligible)
        .filter_map(|(nic, mac)| Some(((*mac)?, nic.place())))
        .collect();
    let namespace = request.namespace(&vm.metadata.namespace);
    let holder = audit::Holder {
        kind: Kind::VirtualMachine,
        namespace,
        name: &vm.metadata.name,
        identity: Identity::of(Kind::VirtualMachine, namespace, &vm.metadata.name, None),
        labels: IndexLabels::read(request.object, Kind::VirtualMachine),
    };
    audit::report(cluster, settings, &holder, &held)
        .map_err(|e| VmError::Allocation(AllocationError::from(e)))
}

fn mutate(
    request: &Request<'_>,
    &Interfaces { vm, nics, macs }: &Interfaces<'_>,
    settings: &Settings,
    cluster: &impl Cluster,
) -> Result<Verdict, VmError> {
    // UPDATE compares with the stored object, never with a lookup that may lag behind it.
    let old_vm = match request.operation {
        Operation::Update => VirtualMachineView::deserialize(request.old_object).ok(),
        Operation::Create => None,
    };
    let old_nics = old_vm
        .as_ref()
        .map(VirtualMachineView::nics)
        .unwrap_or_default();
    let old_macs: HashMap<&str, &str> = old_nics
        .iter()
        .filter_map(|nic| Some((nic.name, nic.mac?)))
        .collect();

    let plans: Vec<Plan> = nics
        .iter()
        .zip(macs)
        .map(|(nic, mac)| plan(nic, *mac, old_macs.get(nic.name).copied()))
        .collect();
    check_duplicates(nics, &plans)?;
    let slots: Vec<Slot> = nics
        .iter()
        .zip(plans)
        .map(|(nic, plan)| Slot {
            plan,
            name: nic.name.to_string(),
            place: nic.place(),
            holds: nic.eligible,
        })
        .collect();

    let namespace = request.namespace(&vm.metadata.namespace);
    let subject = Subject {
        kind: Kind::VirtualMachine,
        namespace,
        hash_name: request.hash_name(&vm.metadata.name, &vm.metadata.generate_name),
        identity: Identity::of(Kind::VirtualMachine, namespace, &vm.metadata.name, None),
        duplicates: match vm.receives_migration() {
            true => DuplicateMacs::Allow,
            false => settings.duplicate_macs,
        },
    };
    let stored = old_nics.iter().filter_map(|nic| Mac::parse(nic.mac?).ok());
    let carried = carry_out(settings, subject, cluster, &slots, stored)?;

    let mut mutated = request.object.clone();
    for (index, text) in carried.written.into_iter().enumerate() {
        if let Some(text) = text {
            set_mac(&mut mutated, index, text);
        }
    }
    write_labels(
        &mut mutated,
        Kind::VirtualMachine,
        &carried.holds,
        Indexed::Always,
    );
    Ok(Verdict::changed(request.object, mutated, carried.warnings))
}

/// The VM of the request; `None` when it passes unchanged (no template, being deleted).
fn handled<'r>(request: &Request<'r>) -> Result<Option<VirtualMachineView<'r>>, VmError> {
    let vm = VirtualMachineView::deserialize(request.object)
        .map_err(|e| VmError::Unreadable(e.to_string()))?;
    let passes = !vm.has_template() || vm.metadata.deletion_timestamp.is_some();
    Ok((!passes).then_some(vm))
}

fn plan<'a>(nic: &Nic<'_>, mac: Option<Mac>, old: Option<&'a str>) -> Plan<'a> {
    let old_mac = old.and_then(|o| Mac::parse(o).ok());
    match (mac, old) {
        (Some(mac), _) if old_mac == Some(mac) => Plan::Keep(Some(mac)),
        (Some(mac), _) if nic.eligible => Plan::Requested(mac),
        (Some(mac), _) => Plan::Keep(Some(mac)),
        (None, Some(old)) => Plan::Restore(old_mac, old),
        (None, None) if nic.eligible => Plan::Allocate,
        (None, None) => Plan::Keep(None),
    }
}

fn check_unique_names(nics: &[Nic<'_>]) -> Result<(), VmError> {
    let mut seen = HashSet::with_capacity(nics.len());
    if nics.iter().all(|nic| seen.insert(nic.name)) {
        Ok(())
    } else {
        Err(VmError::DuplicateInterfaceName)
    }
}

fn parse_macs(nics: &[Nic<'_>]) -> Result<Vec<Option<Mac>>, VmError> {
    nics.iter()
        .map(|nic| {
            nic.mac
                .map(|mac| {
                    Mac::parse(mac).map_err(|error| VmError::InvalidMac {
                        interface: nic.name.to_string(),
                        error,
                        mac: mac.to_string(),
                    })
                })
                .transpose()
        })
        .collect()
}

/// No MAC twice in one VM, counting the MACs an UPDATE restores.
fn check_duplicates(nics: &[Nic<'_>], plans: &[Plan]) -> Result<(), VmError> {
    let mut seen: HashMap<Mac, &str> = HashMap::with_capacity(nics.len());
    for (nic, plan) in nics.iter().zip(plans) {
        let Some(mac) = plan.mac() else { continue };
        if let Some(first) = seen.insert(mac, nic.name) {
            return Err(VmError::DuplicateMac {
                mac,
                first: first.to_string(),
                second: nic.name.to_string(),
            });
        }
    }
    Ok(())
}

fn set_mac(object: &mut Value, index: usize, mac: String) {
    if let Some(interface) = object
        .pointer_mut(INTERFACES_POINTER)
        .and_then(|interfaces| interfaces.get_mut(index))
        .and_then(Value::as_object_mut)
    {
        interface.insert("macAddress".to_string(), Value::String(mac));
    }
}
