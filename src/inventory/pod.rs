//! What the inventory reads of a listed Pod: the MACs of its Multus annotation, in one pass
//! over its bytes. Only the annotation's value is decoded; the rest of the pod (labels, owner
//! references, managed fields, other annotations) is stepped over.
//!
//! It must find exactly the MACs serde's view of a listed pod holds (tests/listed_pod.rs and the
//! `inventory` fuzz target check it): anything it is not sure of (an escaped key or name, a
//! member of an unexpected type, a field given twice) ends the pass with an error, and the
//! caller reads the item with serde, which decides.

use serde::Deserialize;

use super::vm::{Seen, plain_key};
use crate::mac::Mac;
use crate::metadata::{ListedPodMetadata, Text};
use crate::multus::{self, NETWORKS_ANNOTATION};
use crate::scan::{Cursor, ScanError};

type Read<T = ()> = Result<T, ScanError>;

/// A listed pod as serde reads it; also what names a pod's owner.
#[derive(Deserialize)]
pub struct PodView<'a> {
    #[serde(borrow, default)]
    pub metadata: ListedPodMetadata<'a>,
}

/// Calls `visit` with every MAC the listed pod at the cursor holds, and moves past it: read in
/// this pass when it can be, else with serde. A pod serde cannot read either holds nothing;
/// `Err` only when the list itself is broken.
pub fn read_listed(c: &mut Cursor<'_>, visit: &mut dyn FnMut(Mac)) -> Read {
    let start = c.next_value_at();
    if let Ok(networks) = read(c) {
        if let Some(networks) = networks {
            multus::held_macs(&networks).for_each(&mut *visit);
        }
        return Ok(());
    }
    c.seek(start);
    c.skip()?;
    if let Ok(pod) = serde_json::from_slice::<PodView>(c.since(start))
        && let Some(networks) = &pod.metadata.annotations.networks
    {
        multus::held_macs(networks).for_each(visit);
    }
    Ok(())
}

/// Reads the pod at the cursor in one pass: the value of its Multus annotation, if any.
pub fn read<'a>(c: &mut Cursor<'a>) -> Read<Option<Text<'a>>> {
    let mut networks = None;
    let mut seen = Seen::default();
    c.object(|key, c| {
        plain_key(c)?;
        match key {
            b"metadata" => {
                seen.once(c, 0)?;
                networks = metadata(c)?;
                Ok(())
            }
            _ => c.skip(),
        }
    })?;
    Ok(networks)
}

fn metadata<'a>(c: &mut Cursor<'a>) -> Read<Option<Text<'a>>> {
    let mut networks = None;
    let mut seen = Seen::default();
    c.object(|key, c| {
        plain_key(c)?;
        // Names and owners are read only to name an owner in a message (`PodView`); serde's
        // view refuses a pod whose names are not strings, so their type is checked.
        match key {
            b"name" => seen.once(c, 0)?,
            b"namespace" => seen.once(c, 1)?,
            b"ownerReferences" => {
                seen.once(c, 2)?;
                return c.skip();
            }
            b"annotations" => {
                seen.once(c, 3)?;
                networks = annotations(c)?;
                return Ok(());
            }
            _ => return c.skip(),
        }
        c.plain_bytes().map(drop)
    })?;
    Ok(networks)
}

/// The annotations map (or `null`): the last value given for the Multus key, as serde's
/// visitor keeps it.
fn annotations<'a>(c: &mut Cursor<'a>) -> Read<Option<Text<'a>>> {
    let mut networks = None;
    if c.null()? {
        return Ok(networks);
    }
    c.object(|key, c| {
        plain_key(c)?;
        if key != NETWORKS_ANNOTATION.as_bytes() {
            return c.skip();
        }
        if c.null()? {
            networks = Some(Text::default());
            return Ok(());
        }
        // The value is JSON inside a JSON string: it always has escapes, so it is decoded.
        let start = c.next_value_at();
        c.skip()?;
        let text: Text = serde_json::from_slice(c.since(start)).map_err(|_| c.unsupported())?;
        networks = Some(text);
        Ok(())
    })?;
    Ok(networks)
}
