//! One request's allocation (behaviour.md section 6): the used set, requested MACs checked
//! against the inventory under `duplicateMacs`, and blanks filled from the pool.

use std::fmt;

use crate::allocator::{UsedSet, allocate, allocation_hash};
use crate::inventory::{Inventory, InventoryError};
use crate::mac::Mac;
use crate::owner::{self, Identity, Kind, Owner};
use crate::settings::{DuplicateMacs, Settings};

/// The object being admitted, as allocation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject<'a> {
    pub kind: Kind,
    pub namespace: &'a str,
    /// The name the allocation hash uses: `metadata.name`, or for an object that has none yet,
    /// `generateName` followed by the request uid.
    pub hash_name: String,
    /// Who the object is for duplicate checks.
    pub identity: Identity<'a>,
}

/// Why the allocation failed. `Display` is the message without the VM wrapper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllocationError {
    /// No free address in the pool.
    RangeFull,
    /// `duplicateMacs: reject` and other owners hold the requested MAC.
    RequestedMacInUse { mac: Mac, owners: Vec<Owner> },
    /// The inventory could not be read.
    Inventory(InventoryError),
}

impl AllocationError {
    /// The HTTP status of the rejection: a conflict for a pool or MAC that is taken, a server
    /// error for an inventory the host could not provide.
    pub fn code(&self) -> u16 {
        match self {
            AllocationError::RangeFull | AllocationError::RequestedMacInUse { .. } => 409,
            AllocationError::Inventory(_) => 500,
        }
    }
}

impl fmt::Display for AllocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllocationError::RangeFull => f.write_str("the range is full"),
            AllocationError::RequestedMacInUse { mac, owners } => write!(
                f,
                "failed to allocate requested mac address: {mac} is used by {}",
                owner::join(owners)
            ),
            AllocationError::Inventory(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for AllocationError {}

impl From<InventoryError> for AllocationError {
    fn from(e: InventoryError) -> Self {
        AllocationError::Inventory(e)
    }
}

/// The state of one admission's allocation. Requested MACs must all be added (`request`)
/// before the first blank is filled (`allocate`), so that no blank takes a requested MAC.
pub struct Allocation<'a> {
    settings: &'a Settings,
    subject: Subject<'a>,
    inventory: Inventory,
    used: UsedSet,
    warnings: Vec<String>,
}

impl<'a> Allocation<'a> {
    /// `held` are the MACs of the old object and every MAC the object names itself.
    pub fn new(
        settings: &'a Settings,
        subject: Subject<'a>,
        inventory: Inventory,
        held: impl IntoIterator<Item = Mac>,
    ) -> Self {
        let used = inventory.macs().chain(held).collect();
        Allocation {
            settings,
            subject,
            inventory,
            used,
            warnings: Vec::new(),
        }
    }

    /// A MAC the user asked for, on `place` (e.g. `interface eth1`): checked against the
    /// other owners in the inventory as `duplicateMacs` says.
    pub fn request(&mut self, mac: Mac, place: &str) -> Result<(), AllocationError> {
        self.used.insert(mac);
        if self.settings.duplicate_macs == DuplicateMacs::Allow {
            return Ok(());
        }
        let owners = self.inventory.other_holders(mac, &self.subject.identity);
        if owners.is_empty() {
            return Ok(());
        }
        match self.settings.duplicate_macs {
            DuplicateMacs::Reject => Err(AllocationError::RequestedMacInUse { mac, owners }),
            _ => {
                self.warnings.push(format!(
                    "MAC address {mac} requested for {place} is already used by {}",
                    owner::join(&owners)
                ));
                Ok(())
            }
        }
    }

    /// A free MAC for `place` (an interface or network name), chosen from the hash of the
    /// seed, the object and `place`.
    pub fn allocate(&mut self, place: &str) -> Result<Mac, AllocationError> {
        let start = allocation_hash(&[
            &self.settings.seed,
            self.subject.kind.as_str(),
            self.subject.namespace,
            &self.subject.hash_name,
            place,
        ]);
        let mac =
            allocate(&self.settings.pool, &self.used, start).ok_or(AllocationError::RangeFull)?;
        self.used.insert(mac);
        Ok(mac)
    }

    /// Admission warnings collected so far, in the order the MACs were requested.
    pub fn into_warnings(self) -> Vec<String> {
        self.warnings
    }
}
