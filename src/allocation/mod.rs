//! One request's allocation (behaviour.md section 6): the used set, requested MACs checked
//! against the inventory under `duplicateMacs`, and blanks filled from the pool; under
//! `inventory: indexed`, inside the object's block, moving block by block when one is full
//! (section 7.1).

pub mod hash;
pub mod plan;
pub mod seed;
pub mod walk;

use crate::host::Cluster;
use crate::index::block::{Block, BlockRange, blocks_of, pool_blocks};
use crate::inventory::{Inventory, InventoryError, Needs};
use crate::mac::Mac;
use crate::object::owner::{self, Identity, Kind, Owner};
use crate::settings::{DuplicateMacs, InventoryMode, Settings};
use hash::{home_block, place_start};
use seed::SeedError;
use walk::{UsedSet, allocate, allocate_in_block};

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
    /// What a requested MAC that another owner holds does: `duplicateMacs`, or `allow` for a
    /// VM that receives a live migration with its source's MACs (section 6).
    pub duplicates: DuplicateMacs,
}

/// Why the allocation failed. `Display` is the message without the VM wrapper.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocationError {
    /// No free address in the pool.
    #[error("the range is full")]
    RangeFull,
    /// `duplicateMacs: reject` and other owners hold the requested MAC.
    #[error(
        "failed to allocate requested mac address: {mac} is used by {}",
        owner::join(owners)
    )]
    RequestedMacInUse { mac: Mac, owners: Vec<Owner> },
    /// The inventory could not be read.
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    /// The seed could not be read.
    #[error(transparent)]
    Seed(#[from] SeedError),
}

impl AllocationError {
    /// The HTTP status of the rejection: a conflict for a pool or MAC that is taken, a server
    /// error for an inventory the host could not provide.
    pub fn code(&self) -> u16 {
        match self {
            AllocationError::RangeFull | AllocationError::RequestedMacInUse { .. } => 409,
            AllocationError::Inventory(_) | AllocationError::Seed(_) => 500,
        }
    }
}

/// The state of one admission's allocation. Requested MACs are all in the used set from the
/// start, so that no blank takes a requested MAC.
pub struct Allocation<'a, C: Cluster> {
    settings: &'a Settings,
    subject: Subject<'a>,
    /// The hash's seed; empty when nothing is allocated (no blank, no call).
    seed: String,
    cluster: &'a C,
    inventory: Inventory,
    used: UsedSet,
    /// Holders of the inventory already in `used`.
    seen: usize,
    /// `indexed`: the blocks that hold pool addresses, ascending, and the index of the one the
    /// blanks go to now; `None` in the modes that allocate from the whole pool.
    blocks: Vec<Block>,
    current: Option<usize>,
    warnings: Vec<String>,
}

impl<'a, C: Cluster> Allocation<'a, C> {
    /// Reads the inventory the request needs. `requested` are the MACs the user asked for
    /// (checked against other owners unless `duplicateMacs: allow`), `held` every other MAC
    /// the old and new object name, `allocates` whether there is a blank to fill.
    pub fn start(
        settings: &'a Settings,
        subject: Subject<'a>,
        cluster: &'a C,
        requested: &[Mac],
        held: impl IntoIterator<Item = Mac>,
        allocates: bool,
    ) -> Result<Self, AllocationError> {
        let checked: &[Mac] = match subject.duplicates {
            DuplicateMacs::Allow => &[],
            _ => requested,
        };
        let mut needed = blocks_of(checked.iter().copied());
        let indexed = settings.inventory == InventoryMode::Indexed;
        let blocks = match indexed && allocates {
            true => pool_blocks(&settings.pool),
            false => Vec::new(),
        };
        if indexed && allocates && blocks.is_empty() {
            return Err(AllocationError::RangeFull);
        }
        // Read before the lists, and only when a blank is filled.
        let seed = match allocates {
            true => seed::resolve(settings, cluster)?,
            false => String::new(),
        };
        let current = if indexed && allocates {
            let current = home_block(
                &seed,
                subject.kind,
                subject.namespace,
                &subject.hash_name,
                blocks.len(),
            );
            needed.push(blocks[current]);
            Some(current)
        } else {
            None
        };
        let needs = Needs {
            blocks: needed,
            allocates,
        };
        let inventory = Inventory::load_for(cluster, settings.inventory, &needs)?;
        let used = inventory
            .macs()
            .chain(requested.iter().copied())
            .chain(held)
            .collect();
        Ok(Allocation {
            settings,
            subject,
            seed,
            cluster,
            seen: inventory.holders_read(),
            inventory,
            used,
            blocks,
            current,
            warnings: Vec::new(),
        })
    }

    /// A MAC the user asked for, on `place` (e.g. `interface eth1`): checked against the
    /// other owners in the inventory as `duplicateMacs` says.
    pub fn request(&mut self, mac: Mac, place: &str) -> Result<(), AllocationError> {
        self.used.insert(mac);
        if self.subject.duplicates == DuplicateMacs::Allow {
            return Ok(());
        }
        let owners = self.inventory.other_holders(mac, &self.subject.identity);
        if owners.is_empty() {
            return Ok(());
        }
        match self.subject.duplicates {
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
        let start = place_start(
            &self.seed,
            self.subject.kind,
            self.subject.namespace,
            &self.subject.hash_name,
            place,
        );
        let mac = match self.current {
            Some(current) => self.allocate_in_blocks(current, start)?,
            None => allocate(&self.settings.pool, &self.used, start),
        }
        .ok_or(AllocationError::RangeFull)?;
        self.used.insert(mac);
        Ok(mac)
    }

    /// `indexed`: the walk inside the current block, then block by block (ascending, wrapping),
    /// each listed when first visited; `None` when every block is full.
    fn allocate_in_blocks(
        &mut self,
        first: usize,
        start: u64,
    ) -> Result<Option<Mac>, AllocationError> {
        let count = self.blocks.len();
        for step in 0..count {
            let index = (first + step) % count;
            let block = self.blocks[index];
            if self.inventory.load_block(self.cluster, block)? {
                self.used
                    .extend(self.inventory.macs().skip(self.seen).collect::<Vec<_>>());
                self.seen = self.inventory.holders_read();
            }
            let range = BlockRange::new(block, self.settings.range_start, self.settings.range_end);
            if let Some(mac) = allocate_in_block(&self.settings.pool, &self.used, &range, start) {
                self.current = Some(index);
                return Ok(Some(mac));
            }
        }
        Ok(None)
    }

    /// Admission warnings collected so far, in the order the MACs were requested.
    pub fn into_warnings(self) -> Vec<String> {
        self.warnings
    }
}

#[cfg(test)]
mod tests;
