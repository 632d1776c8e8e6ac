//! The inventory: the MACs the cluster's VirtualMachines and Pods hold, and who holds each,
//! derived on every admission from two host list calls (behaviour.md section 7).

pub mod held_macs;
pub mod pod;
pub mod vm;

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;

use kubewarden_policy_sdk::host_capabilities::kubernetes::ListAllResourcesRequest;
use lazy_static::lazy_static;
use memchr::memmem;

use crate::cluster::Cluster;
use crate::keys::{NETWORKS_ANNOTATION, TRACKED_SELECTOR};
use crate::mac::Mac;
use crate::owner::{Identity, Kind, Owner};
use crate::scan::{self, Cursor, ScanError};
use crate::settings::InventoryMode;
use crate::vm_interfaces::VirtualMachineView;
use pod::PodView;
use vm::VmReader;

lazy_static! {
    /// A Pod item without the Multus key holds no MAC. The key is searched as the host's JSON
    /// writer spells it: neither serde_json nor Go escapes its characters.
    static ref POD_NEEDLE: memmem::Finder<'static> =
        memmem::Finder::new(&format!("\"{NETWORKS_ANNOTATION}\"")).into_owned();
}

/// One of the two list calls that build the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListCall {
    pub api_version: &'static str,
    pub kind: Kind,
    /// What the host keeps of each item; `metadata` is always kept whole.
    pub field_masks: &'static [&'static str],
}

/// VirtualMachines: metadata, interfaces and networks.
pub const VM_LIST: ListCall = ListCall {
    api_version: "kubevirt.io/v1",
    kind: Kind::VirtualMachine,
    field_masks: &[
        "metadata",
        "spec.template.spec.domain.devices.interfaces",
        "spec.template.spec.networks",
    ],
};

/// Pods: metadata, which carries the annotations and owner references.
pub const POD_LIST: ListCall = ListCall {
    api_version: "v1",
    kind: Kind::Pod,
    field_masks: &["metadata"],
};

impl ListCall {
    /// The request sent to the host (and recorded in replay sessions).
    pub fn request(&self, mode: InventoryMode) -> ListAllResourcesRequest {
        ListAllResourcesRequest {
            api_version: self.api_version.to_string(),
            kind: self.kind.to_string(),
            label_selector: self
                .selects_by_label(mode)
                .then(|| TRACKED_SELECTOR.to_string()),
            field_selector: None,
            field_masks: Some(
                self.field_masks
                    .iter()
                    .map(|m| m.to_string())
                    .collect::<BTreeSet<_>>(),
            ),
        }
    }

    /// Whether `mode` lists this kind by the tracking label.
    pub fn selects_by_label(&self, mode: InventoryMode) -> bool {
        match self.kind {
            Kind::VirtualMachine => mode.selects_vms_by_label(),
            Kind::Pod => mode.selects_pods_by_label(),
        }
    }

    fn error(&self, error: String) -> InventoryError {
        InventoryError {
            call: format!("list_resources_all {} {}", self.api_version, self.kind),
            error,
        }
    }

    fn fetch(
        &self,
        cluster: &impl Cluster,
        mode: InventoryMode,
    ) -> Result<Vec<u8>, InventoryError> {
        cluster
            .list_resources_all(&self.request(mode))
            .map_err(|e| self.error(e))
    }
}

/// The inventory could not be built; the admission fails closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryError {
    /// The call, e.g. `list_resources_all kubevirt.io/v1 VirtualMachine`.
    pub call: String,
    pub error: String,
}

impl fmt::Display for InventoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot build the MAC inventory: host call {} failed: {}",
            self.call, self.error
        )
    }
}

impl std::error::Error for InventoryError {}

/// Where a held MAC was read: the list and the item's bytes in it. Owners are named only when
/// a requested MAC turns out to be held, so the load allocates nothing per object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Source {
    kind: Kind,
    start: u32,
    end: u32,
}

/// Every MAC held in the cluster and where each holder sits in the lists the host answered.
/// Owners are named and sorted when asked for, so that no answer depends on the order the
/// host listed objects in.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    vms: Vec<u8>,
    pods: Vec<u8>,
    holders: Vec<(Mac, Source)>,
}

/// Byte offsets fit in `u32`: a guest's memory is at most 4 GiB.
fn source(kind: Kind, range: Range<usize>) -> Source {
    Source {
        kind,
        start: range.start as u32,
        end: range.end as u32,
    }
}

impl Inventory {
    /// Lists VirtualMachines, then Pods, and reads the MACs they hold.
    pub fn load(cluster: &impl Cluster, mode: InventoryMode) -> Result<Inventory, InventoryError> {
        let vms = VM_LIST.fetch(cluster, mode)?;
        let pods = POD_LIST.fetch(cluster, mode)?;
        let mut holders = Vec::new();
        add_vms(&vms, &mut holders)?;
        add_pods(&pods, mode, &mut holders)?;
        Ok(Inventory { vms, pods, holders })
    }

    /// Every held MAC, once per interface or network that holds it, in the hosts' list
    /// order. The allocator sorts them once (`UsedSet`); the holders are not sorted, as
    /// only the few MACs an object asks for are ever looked up.
    pub fn macs(&self) -> impl Iterator<Item = Mac> + '_ {
        self.holders.iter().map(|(mac, _)| *mac)
    }

    /// Holders of `mac` that are not `subject`, in kind, namespace, name order.
    pub fn other_holders(&self, mac: Mac, subject: &Identity<'_>) -> Vec<Owner> {
        let mut owners: Vec<Owner> = self
            .holders
            .iter()
            .filter(|(m, _)| *m == mac)
            .filter_map(|(_, source)| self.owner(*source))
            .filter(|owner| owner.identity() != *subject)
            .collect();
        owners.sort_unstable();
        owners.dedup();
        owners
    }

    /// The owner of the item at `source`, read the way the load read it.
    fn owner(&self, source: Source) -> Option<Owner> {
        let range = source.start as usize..source.end as usize;
        match source.kind {
            Kind::VirtualMachine => {
                let vm: VirtualMachineView = serde_json::from_slice(self.vms.get(range)?).ok()?;
                Some(Owner {
                    kind: Kind::VirtualMachine,
                    namespace: vm.metadata.namespace.to_string(),
                    name: vm.metadata.name.to_string(),
                    launcher_of: None,
                })
            }
            Kind::Pod => {
                let pod: PodView = serde_json::from_slice(self.pods.get(range)?).ok()?;
                Some(Owner {
                    kind: Kind::Pod,
                    namespace: pod.metadata.namespace.to_string(),
                    name: pod.metadata.name.to_string(),
                    launcher_of: pod.metadata.launcher_of(),
                })
            }
        }
    }
}

fn add_vms(payload: &[u8], holders: &mut Vec<(Mac, Source)>) -> Result<(), InventoryError> {
    let mut reader = VmReader::default();
    add_items(
        payload,
        &VM_LIST,
        Kind::VirtualMachine,
        holders,
        |c, visit| reader.read_listed(c, visit),
    )
}

fn add_pods(
    payload: &[u8],
    mode: InventoryMode,
    holders: &mut Vec<(Mac, Source)>,
) -> Result<(), InventoryError> {
    if POD_LIST.selects_by_label(mode) {
        // Tracked pods hold MACs: each is read in the pass that finds it.
        let mut buffer = Vec::new();
        return add_items(payload, &POD_LIST, Kind::Pod, holders, |c, visit| {
            pod::read_listed(c, &mut buffer, visit)
        });
    }
    // Most pods carry no Multus annotation: finding an item's extent and searching it for the
    // key (memchr's SIMD search) costs less than stepping through its members.
    let mut buffer = Vec::new();
    scan::list_items(payload, |range| {
        let item = &payload[range.clone()];
        if POD_NEEDLE.find(item).is_some() {
            let from = source(Kind::Pod, range);
            // The scan has found the item's end, so reading it cannot fail.
            let read = pod::read_listed(&mut Cursor::new(item), &mut buffer, &mut |mac| {
                holders.push((mac, from));
            });
            debug_assert!(read.is_ok());
        }
    })
    .map_err(|e| POD_LIST.error(format!("the response is not a Kubernetes List: {e}")))
}

/// Reads every item of the List `call` answered with `read`, which moves past the item and
/// calls back with each MAC it holds. Objects are read in the same pass that finds them.
fn add_items<'a>(
    payload: &'a [u8],
    call: &ListCall,
    kind: Kind,
    holders: &mut Vec<(Mac, Source)>,
    mut read: impl FnMut(&mut Cursor<'a>, &mut dyn FnMut(Mac)) -> Result<(), ScanError>,
) -> Result<(), InventoryError> {
    let unknown = source(kind, 0..0);
    scan::list_items_with(payload, |cursor| {
        let start = cursor.next_value_at();
        let first = holders.len();
        read(cursor, &mut |mac| holders.push((mac, unknown)))?;
        // The item's extent is known once it has been read.
        let from = source(kind, start..cursor.position());
        holders[first..].iter_mut().for_each(|(_, s)| *s = from);
        Ok(())
    })
    .map_err(|e| call.error(format!("the response is not a Kubernetes List: {e}")))
}
