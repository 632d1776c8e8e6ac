//! The inventory: the MACs the cluster's VirtualMachines and Pods hold, and who holds each,
//! derived on every admission from two host list calls (behaviour.md section 7).

use std::collections::BTreeSet;
use std::fmt;

use kubewarden_policy_sdk::host_capabilities::kubernetes::ListAllResourcesRequest;
use lazy_static::lazy_static;
use memchr::memmem;
use serde::Deserialize;

use crate::cluster::Cluster;
use crate::mac::Mac;
use crate::metadata::ListedPodMetadata;
use crate::multus::{self, NETWORKS_ANNOTATION};
use crate::owner::{Identity, Kind, Owner};
use crate::scan;
use crate::settings::InventoryMode;
use crate::virtual_machine::interfaces::VirtualMachineView;

/// Added to every Pod and VM the policy admits that holds a MAC; `inventory: tracked` lists
/// only objects that carry it.
pub const TRACKED_LABEL: &str = "kubemacpool.io/tracked";
pub const TRACKED_VALUE: &str = "true";
/// The label selector of `inventory: tracked`. A constant: policy-server keeps one watch per
/// distinct query, so a per-request value here would leak watches.
pub const TRACKED_SELECTOR: &str = "kubemacpool.io/tracked=true";

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
    pub kind: &'static str,
    /// What the host keeps of each item; `metadata` is always kept whole.
    pub field_masks: &'static [&'static str],
}

/// VirtualMachines: metadata, interfaces and networks.
pub const VM_LIST: ListCall = ListCall {
    api_version: "kubevirt.io/v1",
    kind: "VirtualMachine",
    field_masks: &[
        "metadata",
        "spec.template.spec.domain.devices.interfaces",
        "spec.template.spec.networks",
    ],
};

/// Pods: metadata, which carries the annotations and owner references.
pub const POD_LIST: ListCall = ListCall {
    api_version: "v1",
    kind: "Pod",
    field_masks: &["metadata"],
};

impl ListCall {
    /// The request sent to the host (and recorded in replay sessions).
    pub fn request(&self, mode: InventoryMode) -> ListAllResourcesRequest {
        ListAllResourcesRequest {
            api_version: self.api_version.to_string(),
            kind: self.kind.to_string(),
            label_selector: match mode {
                InventoryMode::All => None,
                InventoryMode::Tracked => Some(TRACKED_SELECTOR.to_string()),
            },
            field_selector: None,
            field_masks: Some(
                self.field_masks
                    .iter()
                    .map(|m| m.to_string())
                    .collect::<BTreeSet<_>>(),
            ),
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

    /// Calls `visit` on every item of the List the host answered that contains `needle`
    /// (an item without it cannot hold a MAC, and is not parsed at all). An item that does
    /// not fit the lean view (a field of the wrong type) is skipped: another object's bad data
    /// is never an error. A response that is not a List at all is one.
    fn for_each_item<'a, T: Deserialize<'a>>(
        &self,
        payload: &'a [u8],
        needle: &memmem::Finder<'_>,
        mut visit: impl FnMut(&T),
    ) -> Result<(), InventoryError> {
        scan::list_items(payload, |range| {
            let item = &payload[range];
            if needle.find(item).is_some()
                && let Ok(item) = serde_json::from_slice::<T>(item)
            {
                visit(&item);
            }
        })
        .map_err(|e| self.error(format!("the response is not a Kubernetes List: {e}")))
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

/// Every MAC held in the cluster, with its holders, sorted by MAC then owner so that no
/// answer depends on the order the host listed objects in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    holders: Vec<(Mac, Owner)>,
}

impl Inventory {
    /// Lists VirtualMachines, then Pods, and reads the MACs they hold.
    pub fn load(cluster: &impl Cluster, mode: InventoryMode) -> Result<Inventory, InventoryError> {
        let vms = VM_LIST.fetch(cluster, mode)?;
        let pods = POD_LIST.fetch(cluster, mode)?;
        let mut inventory = Inventory::default();
        inventory.add_vms(&vms)?;
        inventory.add_pods(&pods)?;
        inventory.holders.sort_unstable();
        inventory.holders.dedup();
        Ok(inventory)
    }

    pub fn macs(&self) -> impl Iterator<Item = Mac> + '_ {
        self.holders.iter().map(|(mac, _)| *mac)
    }

    /// Holders of `mac` that are not `subject`, in kind, namespace, name order.
    pub fn other_holders<'a>(
        &'a self,
        mac: Mac,
        subject: &'a Identity<'_>,
    ) -> impl Iterator<Item = &'a Owner> + 'a {
        let from = self.holders.partition_point(|(m, _)| *m < mac);
        self.holders[from..]
            .iter()
            .take_while(move |(m, _)| *m == mac)
            .map(|(_, owner)| owner)
            .filter(move |owner| owner.identity() != *subject)
    }

    fn add_vms(&mut self, payload: &[u8]) -> Result<(), InventoryError> {
        // Every VM usually holds MACs, so VMs are read in the same pass that finds them.
        scan::list_items_with(payload, |cursor| {
            let Some(vm) = VirtualMachineView::read_listed(cursor)? else {
                return Ok(());
            };
            if vm.metadata.deletion_timestamp.is_some() {
                return Ok(());
            }
            let mut macs = vm.held_macs().peekable();
            if macs.peek().is_none() {
                return Ok(());
            }
            let owner = Owner {
                kind: Kind::VirtualMachine,
                namespace: vm.metadata.namespace.to_string(),
                name: vm.metadata.name.to_string(),
                launcher_of: None,
            };
            self.holders.extend(macs.map(|mac| (mac, owner.clone())));
            Ok(())
        })
        .map_err(|e| VM_LIST.error(format!("the response is not a Kubernetes List: {e}")))
    }

    fn add_pods(&mut self, payload: &[u8]) -> Result<(), InventoryError> {
        #[derive(Deserialize)]
        struct PodView<'a> {
            #[serde(borrow, default)]
            metadata: ListedPodMetadata<'a>,
        }
        POD_LIST.for_each_item(payload, &POD_NEEDLE, |pod: &PodView| {
            let Some(networks) = &pod.metadata.annotations.networks else {
                return;
            };
            let mut macs = multus::held_macs(networks).peekable();
            if macs.peek().is_none() {
                return;
            }
            let owner = Owner {
                kind: Kind::Pod,
                namespace: pod.metadata.namespace.to_string(),
                name: pod.metadata.name.to_string(),
                launcher_of: pod.metadata.launcher_of(),
            };
            self.holders.extend(macs.map(|mac| (mac, owner.clone())));
        })
    }
}
