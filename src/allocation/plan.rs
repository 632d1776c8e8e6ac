//! The one admission pipeline of Pods and VMs: each place of the object that can hold a MAC (a
//! Pod's network element, a VM's interface) gets a plan, and `carry_out` reads the inventory
//! the plans need, checks the requested MACs (behaviour.md section 6) and fills the blanks. The
//! handlers keep only what differs: how they read their places and where they write a MAC.

use super::{Allocation, AllocationError, Subject};
use crate::host::Cluster;
use crate::mac::Mac;
use crate::settings::Settings;

/// What happens to the MAC of one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan<'o> {
    /// Left as written: the MAC it already had on UPDATE, a user MAC on an ineligible VM
    /// interface, or no MAC where none is due.
    Keep(Option<Mac>),
    /// A MAC the user wrote, new or changed: checked against other owners.
    Requested(Mac),
    /// UPDATE without a MAC where the stored object had one: that MAC back, written as the
    /// stored object wrote it (`None` when that text is not a MAC).
    Restore(Option<Mac>, &'o str),
    /// No MAC, and none to give back: a fresh one.
    Allocate,
}

impl Plan<'_> {
    /// The MAC the place holds after the admission, when it is known before allocating.
    pub fn mac(&self) -> Option<Mac> {
        match *self {
            Plan::Keep(mac) | Plan::Restore(mac, _) => mac,
            Plan::Requested(mac) => Some(mac),
            Plan::Allocate => None,
        }
    }
}

/// One place of the admitted object that can hold a MAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot<'o> {
    pub plan: Plan<'o>,
    /// The interface or network name that the allocation hash mixes in.
    pub name: String,
    /// Where the object holds it, as warnings and rejections name it: `interface eth1`,
    /// `network blue-net`.
    pub place: String,
    /// Whether its MAC counts as held by the object (section 7): a VM holds only the MACs of
    /// its eligible interfaces.
    pub holds: bool,
}

/// What carrying out the plans gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carried {
    /// For each slot, the text to write as its MAC: an allocated MAC in normal form, a restored
    /// one as it was written; `None` where the object stays as it is.
    pub written: Vec<Option<String>>,
    /// Every MAC the object holds afterwards, in slot order: what its index labels follow.
    pub holds: Vec<Mac>,
    /// Admission warnings about requested MACs that other owners hold.
    pub warnings: Vec<String>,
}

/// Carries out `slots` for `subject`. `stored` are the MACs of the stored object (UPDATE),
/// which no blank may take (section 6).
pub fn carry_out(
    settings: &Settings,
    subject: Subject<'_>,
    cluster: &impl Cluster,
    slots: &[Slot<'_>],
    stored: impl IntoIterator<Item = Mac>,
) -> Result<Carried, AllocationError> {
    let requested: Vec<Mac> = slots
        .iter()
        .filter_map(|slot| match slot.plan {
            Plan::Requested(mac) => Some(mac),
            _ => None,
        })
        .collect();
    let known = slots.iter().filter_map(|slot| slot.plan.mac());
    let allocates = slots.iter().any(|slot| slot.plan == Plan::Allocate);
    let mut allocation = Allocation::start(
        settings,
        subject,
        cluster,
        &requested,
        known.chain(stored),
        allocates,
    )?;
    for slot in slots {
        if let Plan::Requested(mac) = slot.plan {
            allocation.request(mac, &slot.place)?;
        }
    }
    let mut written = Vec::with_capacity(slots.len());
    let mut holds = Vec::with_capacity(slots.len());
    for slot in slots {
        let (text, mac) = match slot.plan {
            Plan::Allocate => {
                let mac = allocation.allocate(&slot.name)?;
                (Some(mac.to_string()), Some(mac))
            }
            Plan::Restore(mac, text) => (Some(text.to_string()), mac),
            Plan::Keep(mac) => (None, mac),
            Plan::Requested(mac) => (None, Some(mac)),
        };
        if slot.holds {
            holds.extend(mac);
        }
        written.push(text);
    }
    Ok(Carried {
        written,
        holds,
        warnings: allocation.into_warnings(),
    })
}
