//! What the inventory reads of a listed VirtualMachine: the MACs it holds, in one pass over its
//! bytes, into buffers reused from one VM to the next. The inventory reads every VM of the
//! cluster on every admission, so this is the policy's hottest loop: no string is copied or
//! checked beyond what the answer needs, and nothing is allocated per VM.
//!
//! It must find exactly the MACs serde's `VirtualMachineView` holds (tests/listed_vm.rs and
//! the `inventory` fuzz target check it): anything it is not sure of (an escaped string, a
//! member of an unexpected type, a key given twice) ends the pass with an error, and the
//! caller reads the item with serde, which decides.

use crate::mac::Mac;
use crate::scan::{Cursor, ScanError, key_is};
use crate::virtual_machine::interfaces::{VirtualMachineView, is_eligible};

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

/// The known keys of one object read so far: serde's derive refuses a field given twice, so
/// the cursor must too.
#[derive(Default)]
pub(super) struct Seen(u8);

impl Seen {
    pub(super) fn once(&mut self, c: &Cursor<'_>, bit: u8) -> Read {
        if self.0 & (1 << bit) != 0 {
            return Err(c.unsupported());
        }
        self.0 |= 1 << bit;
        Ok(())
    }
}

/// Refuses an escaped key, which may spell a known one that serde would unescape.
pub(super) fn plain_key(c: &Cursor<'_>) -> Read {
    if c.escaped() {
        Err(c.unsupported())
    } else {
        Ok(())
    }
}

/// An `Option<struct>` member: `null` is absent, else an object read by `read`.
fn optional<'a>(c: &mut Cursor<'a>, read: impl FnOnce(&mut Cursor<'a>) -> Read) -> Read {
    if c.null()? { Ok(()) } else { read(c) }
}

/// The MACs a listed VM holds as serde's `VirtualMachineView` reads it: the reference the
/// one-pass reader must agree with, and its fallback. `None` when serde cannot read the VM.
pub fn by_serde(item: &[u8]) -> Option<Vec<Mac>> {
    let vm = serde_json::from_slice::<VirtualMachineView>(item).ok()?;
    Some(match vm.metadata.deletion_timestamp {
        Some(_) => Vec::new(),
        None => vm.held_macs().collect(),
    })
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
        c.seek(start);
        c.skip()?;
        by_serde(c.since(start))
            .unwrap_or_default()
            .into_iter()
            .for_each(visit);
        Ok(())
    }

    /// Reads the VM at the cursor in one pass, moving past it. On `Err` the cursor is
    /// somewhere inside the item and what was read is meaningless.
    pub fn read(&mut self, c: &mut Cursor<'a>) -> Read {
        self.interfaces.clear();
        self.networks.clear();
        self.deleting = false;
        let mut seen = Seen::default();
        c.object(|key, c| {
            plain_key(c)?;
            match key {
                k if key_is(k, b"metadata") => {
                    seen.once(c, 0)?;
                    self.metadata(c)
                }
                k if key_is(k, b"spec") => {
                    seen.once(c, 1)?;
                    optional(c, |c| self.spec(c))
                }
                _ => c.skip(),
            }
        })
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

    fn metadata(&mut self, c: &mut Cursor<'a>) -> Read {
        let mut seen = Seen::default();
        c.object(|key, c| {
            plain_key(c)?;
            // The names are not needed here, but serde's view refuses a VM whose names are
            // not strings, so their type is checked.
            match key {
                k if key_is(k, b"name") => seen.once(c, 0)?,
                k if key_is(k, b"generateName") => seen.once(c, 1)?,
                k if key_is(k, b"namespace") => seen.once(c, 2)?,
                k if key_is(k, b"deletionTimestamp") => {
                    seen.once(c, 3)?;
                    self.deleting = c.present()?;
                    return Ok(());
                }
                _ => return c.skip(),
            }
            c.plain_bytes().map(drop)
        })
    }

    /// `spec`, `spec.template` and `spec.template.spec`: objects with one member that matters.
    fn spec(&mut self, c: &mut Cursor<'a>) -> Read {
        single(c, b"template", |c| {
            optional(c, |c| {
                single(c, b"spec", |c| optional(c, |c| self.template_spec(c)))
            })
        })
    }

    fn template_spec(&mut self, c: &mut Cursor<'a>) -> Read {
        let mut seen = Seen::default();
        c.object(|key, c| {
            plain_key(c)?;
            match key {
                k if key_is(k, b"domain") => {
                    seen.once(c, 0)?;
                    optional(c, |c| {
                        single(c, b"devices", |c| {
                            optional(c, |c| {
                                single(c, b"interfaces", |c| c.array(|c| self.interface(c)))
                            })
                        })
                    })
                }
                k if key_is(k, b"networks") => {
                    seen.once(c, 1)?;
                    c.array(|c| self.network(c))
                }
                _ => c.skip(),
            }
        })
    }

    fn interface(&mut self, c: &mut Cursor<'a>) -> Read {
        let mut interface = Interface {
            name: b"",
            mac: b"",
            masquerade: false,
        };
        let mut seen = Seen::default();
        c.object(|key, c| {
            plain_key(c)?;
            match key {
                k if key_is(k, b"name") => {
                    seen.once(c, 0)?;
                    interface.name = c.plain_bytes()?;
                }
                k if key_is(k, b"macAddress") => {
                    seen.once(c, 1)?;
                    interface.mac = c.plain_bytes()?;
                }
                k if key_is(k, b"masquerade") => {
                    seen.once(c, 2)?;
                    interface.masquerade = c.present()?;
                }
                _ => c.skip()?,
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
        let mut seen = Seen::default();
        c.object(|key, c| {
            plain_key(c)?;
            match key {
                k if key_is(k, b"name") => {
                    seen.once(c, 0)?;
                    network.name = c.plain_bytes()?;
                }
                k if key_is(k, b"multus") => {
                    seen.once(c, 1)?;
                    network.multus = c.present()?;
                }
                _ => c.skip()?,
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
    let mut seen = Seen::default();
    c.object(|key, c| {
        plain_key(c)?;
        if key_is(key, wanted) {
            seen.once(c, 0)?;
            read(c)
        } else {
            c.skip()
        }
    })
}
