//! The inventory: the MACs the cluster's VirtualMachines and Pods hold, and who holds each,
//! derived on every admission from host list calls: two by kind (behaviour.md section 7), or
//! under `indexed` the lists of the spans that hold the blocks a request needs and of the
//! objects not indexed yet (section 7.1).

// The `serde-lists` measurement variant reads every List with serde: the scanner goes unused.
#![cfg_attr(feature = "serde-lists", allow(dead_code))]

pub mod pod;
pub mod scan;
pub mod vm;

use std::collections::BTreeSet;
use std::ops::Range;

use kubewarden_policy_sdk::host_capabilities::kubernetes::ListAllResourcesRequest;
use lazy_static::lazy_static;
use memchr::memmem;

use crate::host::Cluster;
use crate::index::block::Block;
use crate::index::span::Span;
use crate::keys::{LEGACY_POD_SELECTOR, LEGACY_VM_SELECTOR, NETWORKS_ANNOTATION, TRACKED_SELECTOR};
use crate::mac::Mac;
use crate::object::owner::{Identity, Kind, Owner};
use crate::object::vm::VirtualMachineView;
use crate::settings::InventoryMode;
use pod::PodView;
use scan::{Cursor, ScanError};
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
    pub fn request(&self, label_selector: Option<&str>) -> ListAllResourcesRequest {
        ListAllResourcesRequest {
            api_version: self.api_version.to_string(),
            kind: self.kind.to_string(),
            label_selector: label_selector.map(str::to_string),
            field_selector: None,
            field_masks: Some(
                self.field_masks
                    .iter()
                    .map(|m| m.to_string())
                    .collect::<BTreeSet<_>>(),
            ),
        }
    }

    /// The label selector of this kind's list under one of the modes that list by kind
    /// (`pods-tracked`, `all`, `tracked`); `indexed` selects per block (`Inventory::load_for`).
    pub fn mode_selector(&self, mode: InventoryMode) -> Option<&'static str> {
        let by_label = matches!(
            (mode, self.kind),
            (InventoryMode::Tracked, _) | (InventoryMode::PodsTracked, Kind::Pod)
        );
        by_label.then_some(TRACKED_SELECTOR)
    }

    fn error(&self, label_selector: Option<&str>, error: String) -> InventoryError {
        let mut call = format!("list_resources_all {} {}", self.api_version, self.kind);
        if let Some(selector) = label_selector {
            call.push_str(" with label selector ");
            call.push_str(selector);
        }
        InventoryError { call, error }
    }
}

/// What one request needs the inventory for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// The blocks of the MACs it checks against other owners and, under `indexed`, the block
    /// its blanks go to.
    pub blocks: Vec<Block>,
    /// It fills a blank: the modes that list by kind need their lists even without a block.
    pub allocates: bool,
}

/// A one-pass reader's fallback: the item that starts at `start` read again with serde
/// (`by_serde`), the cursor moved past it. An item serde cannot read either holds nothing; `Err`
/// only when the list itself is broken.
fn read_by_serde(
    c: &mut Cursor<'_>,
    start: usize,
    by_serde: fn(&[u8]) -> Option<Vec<Mac>>,
    visit: impl FnMut(Mac),
) -> Result<(), ScanError> {
    c.seek(start);
    c.skip()?;
    by_serde(c.since(start))
        .unwrap_or_default()
        .into_iter()
        .for_each(visit);
    Ok(())
}

/// The inventory could not be built; the admission fails closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot build the MAC inventory: host call {call} failed: {error}")]
pub struct InventoryError {
    /// The call, e.g. `list_resources_all kubevirt.io/v1 VirtualMachine`.
    pub call: String,
    pub error: String,
}

/// Where a held MAC was read: the list and the item's bytes in it. Owners are named only when
/// a requested MAC turns out to be held, so the load allocates nothing per object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Source {
    kind: Kind,
    /// Index of the list in `Inventory::lists`.
    list: u16,
    start: u32,
    end: u32,
}

/// Every MAC held in the cluster and where each holder sits in the lists the host answered.
/// Owners are named and sorted when asked for, so that no answer depends on the order the
/// host listed objects in.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Every list the host answered, in call order.
    lists: Vec<Vec<u8>>,
    holders: Vec<(Mac, Source)>,
    /// `indexed`: the spans whose lists are in `lists` (each query is made once).
    spans: BTreeSet<Span>,
}

/// Byte offsets fit in `u32`: a guest's memory is at most 4 GiB.
/// At most 64 + 16 span lists and four others: list indexes fit in `u16`.
fn source(kind: Kind, list: usize, range: Range<usize>) -> Source {
    Source {
        kind,
        list: list as u16,
        start: range.start as u32,
        end: range.end as u32,
    }
}

impl Inventory {
    /// Lists VirtualMachines, then Pods, as `mode` selects them, and reads the MACs they hold.
    /// For `indexed`, the lists of the needed blocks' spans (ascending), then the objects not
    /// indexed yet (behaviour.md 7.1); the other modes list by kind. Makes no call when nothing is
    /// needed: a request that checks no MAC and fills no blank needs no inventory.
    pub fn load_for(
        cluster: &impl Cluster,
        mode: InventoryMode,
        needs: &Needs,
    ) -> Result<Inventory, InventoryError> {
        let mut inventory = Inventory::default();
        let blocks = &needs.blocks;
        if blocks.is_empty() && !(needs.allocates && mode != InventoryMode::Indexed) {
            return Ok(inventory);
        }
        if mode != InventoryMode::Indexed {
            inventory.list(cluster, &VM_LIST, VM_LIST.mode_selector(mode))?;
            inventory.list(cluster, &POD_LIST, POD_LIST.mode_selector(mode))?;
            return Ok(inventory);
        }
        let mut blocks = blocks.to_vec();
        blocks.sort_unstable();
        blocks.dedup();
        for block in blocks {
            inventory.load_block(cluster, block)?;
        }
        inventory.list(cluster, &VM_LIST, Some(LEGACY_VM_SELECTOR))?;
        inventory.list(cluster, &POD_LIST, Some(LEGACY_POD_SELECTOR))?;
        Ok(inventory)
    }

    /// `indexed`: the VMs labelled with `block`'s VM span, then the Pods labelled with its Pod
    /// span, each unless listed already. Returns whether it listed anything.
    pub fn load_block(
        &mut self,
        cluster: &impl Cluster,
        block: Block,
    ) -> Result<bool, InventoryError> {
        let mut listed = false;
        for call in [&VM_LIST, &POD_LIST] {
            let span = Span::of(call.kind, block);
            if self.spans.insert(span) {
                self.list(cluster, call, Some(&span.label()))?;
                listed = true;
            }
        }
        Ok(listed)
    }

    /// One list call, its MACs added to the holders.
    fn list(
        &mut self,
        cluster: &impl Cluster,
        call: &ListCall,
        label_selector: Option<&str>,
    ) -> Result<(), InventoryError> {
        let payload = cluster
            .list_resources_all(&call.request(label_selector))
            .map_err(|e| call.error(label_selector, e.to_string()))?;
        let list = self.lists.len();
        #[cfg(feature = "serde-lists")]
        let read = serde_list(&payload, call.kind, list, &mut self.holders);
        #[cfg(not(feature = "serde-lists"))]
        let read = match call.kind {
            Kind::VirtualMachine => add_vms(&payload, list, &mut self.holders),
            // Pods listed by a label hold MACs: each is read in the pass that finds it.
            Kind::Pod if label_selector.is_some() => {
                add_labelled_pods(&payload, list, &mut self.holders)
            }
            Kind::Pod => add_pods(&payload, list, &mut self.holders),
        };
        read.map_err(|e| {
            call.error(
                label_selector,
                format!("the response is not a Kubernetes List: {e}"),
            )
        })?;
        self.lists.push(payload);
        Ok(())
    }

    /// Number of holders read so far; `macs().skip(n)` are those read after.
    pub fn holders_read(&self) -> usize {
        self.holders.len()
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
        let item = self.lists.get(usize::from(source.list))?.get(range)?;
        match source.kind {
            Kind::VirtualMachine => {
                let vm: VirtualMachineView = serde_json::from_slice(item).ok()?;
                Some(Owner {
                    kind: Kind::VirtualMachine,
                    namespace: vm.metadata.namespace.to_string(),
                    name: vm.metadata.name.to_string(),
                    launcher_of: None,
                })
            }
            Kind::Pod => {
                let pod: PodView = serde_json::from_slice(item).ok()?;
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

fn add_vms(payload: &[u8], list: usize, holders: &mut Vec<(Mac, Source)>) -> Result<(), ScanError> {
    let mut reader = VmReader::default();
    add_items(payload, Kind::VirtualMachine, list, holders, |c, visit| {
        reader.read_listed(c, visit)
    })
}

fn add_labelled_pods(
    payload: &[u8],
    list: usize,
    holders: &mut Vec<(Mac, Source)>,
) -> Result<(), ScanError> {
    let mut buffer = Vec::new();
    add_items(payload, Kind::Pod, list, holders, |c, visit| {
        pod::read_listed(c, &mut buffer, visit)
    })
}

/// Every pod of the cluster: most carry no Multus annotation, and finding an item's extent and
/// searching it for the key (memchr's SIMD search) costs less than stepping through its members.
fn add_pods(
    payload: &[u8],
    list: usize,
    holders: &mut Vec<(Mac, Source)>,
) -> Result<(), ScanError> {
    let mut buffer = Vec::new();
    scan::list_items(payload, |range| {
        let item = &payload[range.clone()];
        if POD_NEEDLE.find(item).is_some() {
            let from = source(Kind::Pod, list, range);
            // The scan has found the item's end, so reading it cannot fail.
            let read = pod::read_listed(&mut Cursor::new(item), &mut buffer, &mut |mac| {
                holders.push((mac, from));
            });
            debug_assert!(read.is_ok());
        }
    })
}

/// The `serde-lists` measurement variant: the List read by serde, its items kept as raw values
/// (so each holder's extent in the payload is known), each item read by `by_serde`.
#[cfg(feature = "serde-lists")]
fn serde_list(
    payload: &[u8],
    kind: Kind,
    list: usize,
    holders: &mut Vec<(Mac, Source)>,
) -> Result<(), ScanError> {
    let by_serde = match kind {
        Kind::VirtualMachine => vm::by_serde,
        Kind::Pod => pod::by_serde,
    };
    #[derive(serde::Deserialize)]
    struct List<'a> {
        #[serde(borrow)]
        items: Option<Vec<&'a serde_json::value::RawValue>>,
    }
    let parsed: List<'_> = serde_json::from_slice(payload).map_err(|e| ScanError {
        offset: e.column(),
        expected: "a List that serde reads",
    })?;
    let base = payload.as_ptr() as usize;
    for item in parsed.items.unwrap_or_default() {
        let text = item.get();
        let start = text.as_ptr() as usize - base;
        let from = source(kind, list, start..start + text.len());
        for mac in by_serde(text.as_bytes()).unwrap_or_default() {
            holders.push((mac, from));
        }
    }
    Ok(())
}

/// Reads every item of a List with `read`, which moves past the item and calls back with each
/// MAC it holds. Objects are read in the same pass that finds them.
fn add_items<'a>(
    payload: &'a [u8],
    kind: Kind,
    list: usize,
    holders: &mut Vec<(Mac, Source)>,
    mut read: impl FnMut(&mut Cursor<'a>, &mut dyn FnMut(Mac)) -> Result<(), ScanError>,
) -> Result<(), ScanError> {
    let unknown = source(kind, list, 0..0);
    scan::list_items_with(payload, |cursor| {
        let start = cursor.next_value_at();
        let first = holders.len();
        read(cursor, &mut |mac| holders.push((mac, unknown)))?;
        // The item's extent is known once it has been read.
        let from = source(kind, list, start..cursor.position());
        holders[first..].iter_mut().for_each(|(_, s)| *s = from);
        Ok(())
    })
}

#[cfg(test)]
mod tests;
