//! Audit re-evaluations (behaviour.md section 10): Kubewarden's audit scanner sends every stored
//! object through the policy again; with `auditDuplicates: report` a MAC that another owner
//! holds, or a MAC no admission's lists would see (an index hole), makes the answer a
//! rejection, which the PolicyReport records as `fail`.

use std::fmt;

use crate::host::Cluster;
use crate::index::IndexLabels;
use crate::index::block::{Block, blocks_of};
use crate::index::span::Span;
use crate::inventory::{Inventory, InventoryError, Needs};
use crate::keys::{TRACKED_LABEL, TRACKED_SELECTOR};
use crate::mac::Mac;
use crate::object::owner::{self, Identity, Kind, Owner};
use crate::settings::{InventoryMode, Settings};
use crate::verdict::Verdict;

/// One MAC of the audited object that other owners hold too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    pub mac: Mac,
    /// Where the object holds it: `interface net1`, `network blue-net`.
    pub place: String,
    /// Every other owner, sorted by kind, namespace and name.
    pub owners: Vec<Owner>,
}

impl fmt::Display for Collision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MAC collision: {} on {} is also held by {}",
            self.mac,
            self.place,
            owner::join(&self.owners)
        )
    }
}

/// A MAC of the audited object that no list of an admission under the configured `inventory`
/// mode would return (behaviour.md section 10): admissions cannot see it, so they may hand it
/// out again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hole {
    pub mac: Mac,
    pub place: String,
    /// The label whose absence hides it.
    pub missing: String,
    pub kind: Kind,
}

impl fmt::Display for Hole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "index hole: MAC {} on {} is hidden from admissions: label {} is missing; ",
            self.mac, self.place, self.missing
        )?;
        match self.kind {
            Kind::VirtualMachine => f.write_str("re-apply the VirtualMachine to repair it"),
            Kind::Pod => write!(f, "label the Pod with {TRACKED_SELECTOR} to repair it"),
        }
    }
}

/// The audited object: who it is, for collisions, and what its labels say, for holes.
#[derive(Debug, Clone)]
pub struct Holder<'a> {
    pub kind: Kind,
    pub identity: Identity<'a>,
    pub labels: IndexLabels,
}

/// The label whose absence hides `mac` of `holder` from every list an admission of `mode`
/// makes for it; `None` when some list returns it.
pub fn hidden_by(mode: InventoryMode, holder: &Holder<'_>, mac: Mac) -> Option<String> {
    let labels = &holder.labels;
    let hidden = match mode {
        InventoryMode::Indexed => {
            let in_legacy_list = match holder.kind {
                Kind::VirtualMachine => !labels.indexed,
                Kind::Pod => labels.tracked && !labels.indexed,
            };
            if labels.covers(Block::of(mac)) || in_legacy_list {
                return None;
            }
            return Some(Span::of(holder.kind, Block::of(mac)).label());
        }
        InventoryMode::PodsTracked => holder.kind == Kind::Pod && !labels.tracked,
        InventoryMode::Tracked => !labels.tracked,
        InventoryMode::All => false,
    };
    hidden.then(|| TRACKED_LABEL.to_string())
}

/// The audit's answer for an object that holds `held` (each MAC with its place): a rejection
/// (409) naming every collision and every index hole, or an acceptance without a patch. The
/// inventory is read only when the object holds a MAC, and only the lists an admission that
/// checks those MACs would make; a failed read fails closed, as an admission does.
pub fn report(
    cluster: &impl Cluster,
    settings: &Settings,
    holder: &Holder<'_>,
    held: &[(Mac, String)],
) -> Result<Verdict, InventoryError> {
    if held.is_empty() {
        return Ok(Verdict::accept());
    }
    let needs = Needs {
        blocks: blocks_of(held.iter().map(|(mac, _)| *mac)),
        allocates: false,
    };
    let inventory = Inventory::load_for(cluster, settings.inventory, &needs)?;
    let mut problems: Vec<String> = held
        .iter()
        .filter_map(|(mac, place)| {
            let owners = inventory.other_holders(*mac, &holder.identity);
            (!owners.is_empty()).then(|| {
                Collision {
                    mac: *mac,
                    place: place.clone(),
                    owners,
                }
                .to_string()
            })
        })
        .collect();
    problems.extend(held.iter().filter_map(|(mac, place)| {
        let missing = hidden_by(settings.inventory, holder, *mac)?;
        Some(
            Hole {
                mac: *mac,
                place: place.clone(),
                missing,
                kind: holder.kind,
            }
            .to_string(),
        )
    }));
    Ok(if problems.is_empty() {
        Verdict::accept()
    } else {
        Verdict::Reject {
            message: problems.join("; "),
            code: 409,
        }
    })
}
