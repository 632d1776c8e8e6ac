//! VirtualMachines on CREATE and UPDATE (behaviour.md section 5): Kubemacpool's intra-VM
//! checks, allocation for eligible interfaces, and the UPDATE merge that never changes a MAC
//! the user did not change.

use std::collections::{HashMap, HashSet};
use std::fmt;

use kubewarden_policy_sdk::request::KubernetesAdmissionRequest;
use serde::Deserialize;
use serde_json::Value;

use crate::allocation::{Allocation, AllocationError, Subject};
use crate::audit;
use crate::host::Cluster;
use crate::index::{IndexLabels, Indexed, write_labels};
use crate::mac::{Mac, ParseMacError};
use crate::object::owner::{Identity, Kind};
use crate::object::vm::{Nic, VirtualMachineView};
use crate::object::{Operation, hash_name, namespace_of};
use crate::settings::Settings;
use crate::verdict::Verdict;

const INTERFACES_POINTER: &str = "/spec/template/spec/domain/devices/interfaces";

/// Why a VM is rejected. `Display` is Kubemacpool's message without the operation wrapper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VmError {
    /// The object is not a VirtualMachine the policy can read.
    Unreadable(String),
    DuplicateInterfaceName,
    InvalidMac {
        interface: String,
        error: ParseMacError,
        mac: String,
    },
    DuplicateMac {
        mac: Mac,
        first: String,
        second: String,
    },
    Allocation(AllocationError),
}

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VmError::Unreadable(e) => write!(f, "cannot read the VirtualMachine: {e}"),
            VmError::DuplicateInterfaceName => f.write_str(
                "Failed to mutate virtual machine: every interface must have a unique name",
            ),
            VmError::InvalidMac {
                interface,
                error,
                mac,
            } => write!(
                f,
                "invalid MAC address format for interface {interface}: {mac}: {error}"
            ),
            VmError::DuplicateMac { mac, first, second } => write!(
                f,
                "duplicate MAC address {mac} found on interfaces: {first} and {second}"
            ),
            VmError::Allocation(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for VmError {}

impl From<AllocationError> for VmError {
    fn from(e: AllocationError) -> Self {
        VmError::Allocation(e)
    }
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

/// What happens to one interface's `macAddress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan<'a> {
    /// Left as it is: no MAC on an ineligible interface, the MAC it already had on UPDATE,
    /// or a user MAC on an ineligible interface.
    Keep,
    /// A MAC the user wrote on an eligible interface, new or changed.
    Requested(Mac),
    /// UPDATE without `macAddress` on an interface that had one: it gets it back, as written.
    Restore(&'a str),
    /// An eligible interface without a MAC.
    Allocate,
}

pub fn admit(
    request: &KubernetesAdmissionRequest,
    operation: Operation,
    settings: &Settings,
    cluster: &impl Cluster,
) -> Verdict {
    answer(mutate(request, operation, settings, cluster), operation)
}

/// An audit re-evaluation of a stored VM (behaviour.md section 10): the VM's own checks as on
/// admission, then the MAC of every eligible interface against the other owners. Nothing is
/// allocated and nothing written.
pub fn audit(
    request: &KubernetesAdmissionRequest,
    settings: &Settings,
    cluster: &impl Cluster,
) -> Verdict {
    answer(collisions(request, settings, cluster), Operation::Create)
}

fn answer(outcome: Result<Verdict, VmError>, operation: Operation) -> Verdict {
    outcome.unwrap_or_else(|e| Verdict::Reject {
        message: e.message(operation),
        code: e.code(),
    })
}

fn collisions(
    request: &KubernetesAdmissionRequest,
    settings: &Settings,
    cluster: &impl Cluster,
) -> Result<Verdict, VmError> {
    let Some(vm) = handled(request)? else {
        return Ok(Verdict::accept());
    };
    let (nics, macs) = checked_interfaces(&vm)?;
    check_duplicates(&nics, &macs, &vec![Plan::Keep; nics.len()])?;
    let held: Vec<(Mac, String)> = nics
        .iter()
        .zip(&macs)
        .filter(|(nic, _)| nic.eligible)
        .filter_map(|(nic, mac)| Some(((*mac)?, format!("interface {}", nic.name))))
        .collect();
    let holder = audit::Holder {
        kind: Kind::VirtualMachine,
        identity: Identity {
            family: Kind::VirtualMachine,
            namespace: namespace_of(request, &vm.metadata.namespace),
            name: &vm.metadata.name,
        },
        labels: IndexLabels::read(&request.object),
    };
    audit::report(cluster, settings, &holder, &held)
        .map_err(|e| VmError::Allocation(AllocationError::from(e)))
}

fn mutate(
    request: &KubernetesAdmissionRequest,
    operation: Operation,
    settings: &Settings,
    cluster: &impl Cluster,
) -> Result<Verdict, VmError> {
    let Some(vm) = handled(request)? else {
        return Ok(Verdict::accept());
    };
    let (nics, macs) = checked_interfaces(&vm)?;

    // UPDATE compares with the stored object, never with a lookup that may lag behind it.
    let old_vm = match operation {
        Operation::Update => VirtualMachineView::deserialize(&request.old_object).ok(),
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
        .zip(&macs)
        .map(|(nic, mac)| plan(nic, *mac, old_macs.get(nic.name).copied()))
        .collect();
    check_duplicates(&nics, &macs, &plans)?;

    let namespace = namespace_of(request, &vm.metadata.namespace);
    let subject = Subject {
        kind: Kind::VirtualMachine,
        namespace,
        hash_name: hash_name(request, &vm.metadata.name, &vm.metadata.generate_name),
        identity: Identity {
            family: Kind::VirtualMachine,
            namespace,
            name: &vm.metadata.name,
        },
    };
    let requested: Vec<Mac> = plans
        .iter()
        .filter_map(|plan| match plan {
            Plan::Requested(mac) => Some(*mac),
            _ => None,
        })
        .collect();
    let held = old_nics
        .iter()
        .filter_map(|nic| Mac::parse(nic.mac?).ok())
        .chain(macs.iter().flatten().copied());
    let allocates = plans.contains(&Plan::Allocate);
    let mut allocation =
        Allocation::start(settings, subject, cluster, &requested, held, allocates)?;
    for (nic, plan) in nics.iter().zip(&plans) {
        if let Plan::Requested(mac) = plan {
            allocation.request(*mac, &format!("interface {}", nic.name))?;
        }
    }

    let mut mutated = request.object.clone();
    let mut holds = Vec::new();
    for (index, (nic, plan)) in nics.iter().zip(&plans).enumerate() {
        let written = match plan {
            Plan::Allocate => Some(allocation.allocate(nic.name)?.to_string()),
            Plan::Restore(old) => Some(old.to_string()),
            Plan::Keep | Plan::Requested(_) => None,
        };
        let final_mac = written
            .as_deref()
            .or(nic.mac)
            .and_then(|m| Mac::parse(m).ok());
        if nic.eligible
            && let Some(mac) = final_mac
        {
            holds.push(mac);
        }
        if let Some(mac) = written {
            set_mac(&mut mutated, index, mac);
        }
    }
    write_labels(&mut mutated, &holds, Indexed::Always);
    Ok(Verdict::changed(
        &request.object,
        mutated,
        allocation.into_warnings(),
    ))
}

/// The VM of the request; `None` when it passes unchanged (no template, being deleted).
fn handled(
    request: &KubernetesAdmissionRequest,
) -> Result<Option<VirtualMachineView<'_>>, VmError> {
    let vm = VirtualMachineView::deserialize(&request.object)
        .map_err(|e| VmError::Unreadable(e.to_string()))?;
    let passes = !vm.has_template() || vm.metadata.deletion_timestamp.is_some();
    Ok((!passes).then_some(vm))
}

/// The VM's interfaces and their MACs, after Kubemacpool's checks on every handled request:
/// unique names, MACs that parse.
fn checked_interfaces<'v>(
    vm: &'v VirtualMachineView<'_>,
) -> Result<(Vec<Nic<'v>>, Vec<Option<Mac>>), VmError> {
    let nics = vm.nics();
    check_unique_names(&nics)?;
    let macs = parse_macs(&nics)?;
    Ok((nics, macs))
}

fn plan<'a>(nic: &Nic<'_>, mac: Option<Mac>, old: Option<&'a str>) -> Plan<'a> {
    let old_mac = old.and_then(|o| Mac::parse(o).ok());
    match (mac, old) {
        (Some(mac), _) if old_mac == Some(mac) => Plan::Keep,
        (Some(mac), _) if nic.eligible => Plan::Requested(mac),
        (Some(_), _) => Plan::Keep,
        (None, Some(old)) => Plan::Restore(old),
        (None, None) if nic.eligible => Plan::Allocate,
        (None, None) => Plan::Keep,
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
fn check_duplicates(nics: &[Nic<'_>], macs: &[Option<Mac>], plans: &[Plan]) -> Result<(), VmError> {
    let mut seen: HashMap<Mac, &str> = HashMap::with_capacity(nics.len());
    for ((nic, mac), plan) in nics.iter().zip(macs).zip(plans) {
        let final_mac = match plan {
            Plan::Restore(old) => Mac::parse(old).ok(),
            _ => *mac,
        };
        let Some(final_mac) = final_mac else { continue };
        if let Some(first) = seen.insert(final_mac, nic.name) {
            return Err(VmError::DuplicateMac {
                mac: final_mac,
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
