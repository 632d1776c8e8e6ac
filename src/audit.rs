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
use crate::keys::{REINDEX_ANNOTATION, TRACKED_LABEL, TRACKED_SELECTOR};
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
pub struct Hole<'a> {
    pub mac: Mac,
    pub place: String,
    /// The label whose absence hides it.
    pub missing: String,
    pub holder: &'a Holder<'a>,
}

impl fmt::Display for Hole<'_> {
    // The repair names a command that sends an UPDATE: a client-side `kubectl apply` of an
    // unchanged manifest sends no request at all, so "re-apply" alone would leave the hole.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Holder {
            kind,
            namespace,
            name,
            labels,
            ..
        } = self.holder;
        write!(
            f,
            "index hole: MAC {} on {} is hidden from admissions: label {} is missing; ",
            self.mac, self.place, self.missing
        )?;
        let reindex = format!("{REINDEX_ANNOTATION}=\"$(date +%s)\" --overwrite");
        match kind {
            Kind::VirtualMachine => write!(
                f,
                "re-apply the VirtualMachine to repair it: kubectl annotate vm {name} -n {namespace} {reindex}"
            ),
            // A tracked Pod's UPDATE rewrites its index labels; an untracked one is left alone
            // until it is labelled, and the label is itself that UPDATE.
            Kind::Pod if labels.tracked => write!(
                f,
                "re-apply the Pod to repair it: kubectl annotate pod {name} -n {namespace} {reindex}"
            ),
            Kind::Pod => write!(
                f,
                "label the Pod with {TRACKED_SELECTOR} to repair it: kubectl label pod {name} -n {namespace} {TRACKED_SELECTOR}"
            ),
        }
    }
}

/// The audited object: who it is, for collisions, its own name, for the repair command, and
/// what its labels say, for holes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder<'a> {
    pub kind: Kind,
    pub namespace: &'a str,
    pub name: &'a str,
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
                holder,
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
