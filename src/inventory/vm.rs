//! What the inventory reads of a listed VirtualMachine: the MACs it holds, in one pass over its
//! bytes, into buffers reused from one VM to the next. The inventory reads every VM of the
//! cluster on every admission, so this is the policy's hottest loop: no string is copied or
//! checked beyond what the answer needs, and nothing is allocated per VM.
//!
//! It must find exactly the MACs `by_serde` finds (`listed_vm` in src/inventory/tests.rs and
//! the `inventory` fuzz target check it): anything it is not sure of (an escaped string, a
//! member of an unexpected type, a key given twice) ends the pass with an error, and the
//! caller reads the item with serde, which decides.

use lazy_static::lazy_static;
use memchr::memmem;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::scan::{Cursor, ScanError};
use crate::mac::Mac;
use crate::object::metadata::Metadata;
use crate::object::vm::{Spec, VirtualMachineView, is_eligible};

lazy_static! {
    /// The one metadata key the inventory needs, as the host's JSON writer spells it.
    static ref DELETION_NEEDLE: memmem::Finder<'static> =
        memmem::Finder::new(b"\"deletionTimestamp\"").into_owned();
}

type Read<T = ()> = Result<T, ScanError>;

/// An interface as the inventory needs it.
struct Interface<'a> {
    name: &'a [u8],
    mac: &'a [u8],
    masquerade: bool,
}

/// A network as the inventory needs it.
struct Network<'a> {
    name: &'a [u8],
    multus: bool,
}

/// An `Option<struct>` member: `null` is absent, else an object read by `read`.
fn optional<'a>(c: &mut Cursor<'a>, read: impl FnOnce(&mut Cursor<'a>) -> Read) -> Read {
    if c.null()? { Ok(()) } else { read(c) }
}

/// A listed VM as the inventory needs it: of its metadata only whether it is being deleted
/// (names are read later, and only for the holders of a requested MAC).
#[derive(Default, Deserialize)]
#[serde(default)]
struct ListedVm<'a> {
    metadata: Deletion,
    #[serde(borrow)]
    spec: Option<Spec<'a>>,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Deletion {
    deletion_timestamp: Option<IgnoredAny>,
}

/// The MACs a listed VM holds as serde reads it: the reference the one-pass reader must agree
/// with, and its fallback. `None` when serde cannot read the VM.
pub fn by_serde(item: &[u8]) -> Option<Vec<Mac>> {
    let vm = serde_json::from_slice::<ListedVm>(item).ok()?;
    if vm.metadata.deletion_timestamp.is_some() {
        return Some(Vec::new());
    }
    let view = VirtualMachineView {
        metadata: Metadata::default(),
        spec: vm.spec,
    };
    Some(view.held_macs().collect())
}

/// Reads listed VMs one after the other; one reader serves a whole list.
#[derive(Default)]
pub struct VmReader<'a> {
    interfaces: Vec<Interface<'a>>,
    networks: Vec<Network<'a>>,
    deleting: bool,
}

impl<'a> VmReader<'a> {
    /// Calls `visit` with every MAC the listed VM at the cursor holds, and moves past it:
    /// read in this pass when it can be, else with serde. A VM serde cannot read either holds
    /// nothing; `Err` only when the list itself is broken.
    pub fn read_listed(&mut self, c: &mut Cursor<'a>, visit: impl FnMut(Mac)) -> Read {
        let start = c.next_value_at();
        if self.read(c).is_ok() {
            self.macs().for_each(visit);
            return Ok(());
        }
        super::read_by_serde(c, start, by_serde, visit)
    }

    /// Reads the VM at the cursor in one pass, moving past it. On `Err` the cursor is
    /// somewhere inside the item and what was read is meaningless.
    pub fn read(&mut self, c: &mut Cursor<'a>) -> Read {
        let start = c.next_value_at();
        self.clear();
        if self.masked(c).unwrap_or(false) {
            return Ok(());
        }
        c.seek(start);
        self.clear();
        c.fields(&[b"metadata", b"spec"], |field, c| match field {
            0 => self.metadata(c),
            _ => optional(c, |c| self.spec(c)),
        })
    }

    fn clear(&mut self) {
        self.interfaces.clear();
        self.networks.clear();
        self.deleting = false;
    }

    /// The VM exactly as policy-server lists it under the policy's field masks: `apiVersion`,
    /// `kind`, `metadata`, `spec` and nothing else, compact, in that order. The keys and the
    /// two values nobody reads are compared as literals; `Ok(false)` for any other form,
    /// which `read` reads member by member. The same reasoning as `masked_spec` makes both
    /// read the same.
    fn masked(&mut self, c: &mut Cursor<'a>) -> Read<bool> {
        if !c.literal(br#"{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachine","metadata":"#) {
            return Ok(false);
        }
        self.metadata(c)?;
        if !c.literal(br#","spec":"#) {
            return Ok(false);
        }
        optional(c, |c| self.spec(c))?;
        Ok(c.literal(b"}"))
    }

    /// The MACs held: those of eligible interfaces that parse; none while being deleted.
    pub fn macs(&self) -> impl Iterator<Item = Mac> + '_ {
        self.interfaces
            .iter()
            .filter(|_| !self.deleting)
            .filter(|i| !i.mac.is_empty())
            .filter(|i| {
                let multus = self.networks.iter().any(|n| n.name == i.name && n.multus);
                is_eligible(i.masquerade, multus)
            })
            .filter_map(|i| Mac::from_ascii(i.mac))
    }

    /// Most of a VM's bytes are metadata, of which only `deletionTimestamp` matters here. The
    /// object is skipped in blocks; only when it holds that key, or an escape that could spell
    /// it, is it read member by member as serde would.
    fn metadata(&mut self, c: &mut Cursor<'a>) -> Read {
        let start = c.next_value_at();
        if c.peek() == Some(b'{') {
            let escaped = c.skip_noting_escapes()?;
            if !escaped && DELETION_NEEDLE.find(c.since(start)).is_none() {
                return Ok(());
            }
            c.seek(start);
        }
        c.fields(&[b"deletionTimestamp"], |_, c| {
            self.deleting = c.present()?;
            Ok(())
        })
    }

    /// `spec`, `spec.template` and `spec.template.spec`: objects with one member that matters.
    fn spec(&mut self, c: &mut Cursor<'a>) -> Read {
        let start = c.position();
        if self.masked_spec(c).unwrap_or(false) {
            return Ok(());
        }
        // Not the masked form: read it again member by member.
        c.seek(start);
        self.interfaces.clear();
        self.networks.clear();
        single(c, b"template", |c| {
            optional(c, |c| {
                single(c, b"spec", |c| optional(c, |c| self.template_spec(c)))
            })
        })
    }

    /// The spec exactly as policy-server writes it under the policy's field masks (compact,
    /// keys sorted, nothing but the interfaces and networks): the five objects around the two
    /// lists compared as three literals instead of read key by key, which was a third of the
    /// guest's work on a VM. `Ok(false)` for any other form. The literals hold no escape and
    /// give every object one member (two distinct ones for the template spec), so what they
    /// match, the member-by-member reader reads the same way.
    fn masked_spec(&mut self, c: &mut Cursor<'a>) -> Read<bool> {
        if !c.literal(br#"{"template":{"spec":{"domain":{"devices":{"interfaces":"#) {
            return Ok(false);
        }
        c.array(|c| self.interface(c))?;
        if !c.literal(br#"}},"networks":"#) {
            return Ok(false);
        }
        c.array(|c| self.network(c))?;
        Ok(c.literal(b"}}}"))
    }

    fn template_spec(&mut self, c: &mut Cursor<'a>) -> Read {
        c.fields(&[b"domain", b"networks"], |field, c| match field {
            0 => optional(c, |c| {
                single(c, b"devices", |c| {
                    optional(c, |c| {
                        single(c, b"interfaces", |c| c.array(|c| self.interface(c)))
                    })
                })
            }),
            _ => c.array(|c| self.network(c)),
        })
    }

    fn interface(&mut self, c: &mut Cursor<'a>) -> Read {
        let mut interface = Interface {
            name: b"",
            mac: b"",
            masquerade: false,
        };
        c.fields(&[b"name", b"macAddress", b"masquerade"], |field, c| {
            match field {
                0 => interface.name = c.plain_bytes()?,
                1 => interface.mac = c.plain_bytes()?,
                _ => interface.masquerade = c.present()?,
            }
            Ok(())
        })?;
        self.interfaces.push(interface);
        Ok(())
    }

    fn network(&mut self, c: &mut Cursor<'a>) -> Read {
        let mut network = Network {
            name: b"",
            multus: false,
        };
        c.fields(&[b"name", b"multus"], |field, c| {
            match field {
                0 => network.name = c.plain_bytes()?,
                _ => network.multus = c.present()?,
            }
            Ok(())
        })?;
        self.networks.push(network);
        Ok(())
    }
}

/// An object of which only the member `wanted` matters (read by `read`, at most once).
fn single<'a>(
    c: &mut Cursor<'a>,
    wanted: &[u8],
    mut read: impl FnMut(&mut Cursor<'a>) -> Read,
) -> Read {
    c.fields(&[wanted], |_, c| read(c))
}
