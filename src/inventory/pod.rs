//! What the inventory reads of a listed Pod: the MACs of its Multus annotation, in one pass
//! over its bytes. Only the annotation's value is decoded; the rest of the pod (labels, owner
//! references, managed fields, other annotations) is stepped over.
//!
//! It must find exactly the MACs serde's view of a listed pod holds (`listed_pod` in src/inventory/tests.rs and the
//! `inventory` fuzz target check it): anything it is not sure of (an escaped key or name, a
//! member of an unexpected type, a field given twice) ends the pass with an error, and the
//! caller reads the item with serde, which decides.

use std::borrow::Cow;

use serde::Deserialize;

use super::scan::{Cursor, ScanError, key_is};
use crate::keys::NETWORKS_ANNOTATION;
use crate::mac::Mac;
use crate::object::metadata::{ListedPodMetadata, Text};
use crate::object::multus;

type Read<T = ()> = Result<T, ScanError>;

/// A listed pod as serde reads it; also what names a pod's owner.
#[derive(Deserialize)]
pub struct PodView<'a> {
    #[serde(borrow, default)]
    pub metadata: ListedPodMetadata<'a>,
}

/// Calls `visit` with every MAC the listed pod at the cursor holds, and moves past it: the pod
/// found in this pass, its annotation read with serde (`multus::held_macs`; a one-pass reader of
/// the annotation bought under 1 % of an admission over its engine floor in `make bench-engine`,
/// 2026-12-07, and was removed), else the whole pod with serde. A pod serde cannot read either
/// holds nothing; `Err` only when the list itself is broken.
/// `buffer` is scratch space, reused from one pod to the next.
pub fn read_listed(c: &mut Cursor<'_>, buffer: &mut Vec<u8>, visit: &mut dyn FnMut(Mac)) -> Read {
    let start = c.next_value_at();
    if let Ok(networks) = read(c) {
        if let Some(networks) = networks.and_then(|token| annotation(token, buffer)) {
            multus::held_macs(&networks).for_each(&mut *visit);
        }
        return Ok(());
    }
    super::read_by_serde(c, start, by_serde, visit)
}

/// The MACs a listed pod holds as serde's `PodView` reads it: the reference the one-pass
/// reader must agree with, and its fallback. `None` when serde cannot read the pod.
pub fn by_serde(item: &[u8]) -> Option<Vec<Mac>> {
    let pod = serde_json::from_slice::<PodView>(item).ok()?;
    Some(match &pod.metadata.annotations.networks {
        Some(networks) => multus::held_macs(networks).collect(),
        None => Vec::new(),
    })
}

/// The Multus annotation's text from its raw JSON token (see `read`): `null` is empty; a string
/// whose only escapes are `\"` (how a JSON list inside a JSON string is written) is unescaped
/// into `buffer`; any other string is decoded by serde. `None` when it is not a valid string,
/// which makes serde refuse the whole pod.
pub fn annotation<'b>(token: &'b [u8], buffer: &'b mut Vec<u8>) -> Option<Cow<'b, str>> {
    if token == b"null" {
        return Some(Cow::Borrowed(""));
    }
    let inner = token.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    if unescape_quotes(inner, buffer) {
        return std::str::from_utf8(buffer).ok().map(Cow::Borrowed);
    }
    serde_json::from_slice::<Text>(token)
        .ok()
        .map(|text| text.0)
}

/// Copies `inner` into `buffer` with every `\"` made `"`, in one pass; `false` for any other
/// escape or a control character (which JSON requires escaped): serde decides those.
fn unescape_quotes(inner: &[u8], buffer: &mut Vec<u8>) -> bool {
    buffer.clear();
    let mut copied = 0;
    let mut at = 0;
    while let Some(&byte) = inner.get(at) {
        if byte >= 0x20 && byte != b'\\' {
            at += 1;
            continue;
        }
        if byte < 0x20 || inner.get(at + 1) != Some(&b'"') {
            return false;
        }
        buffer.extend_from_slice(&inner[copied..at]);
        copied = at + 1;
        at += 2;
    }
    buffer.extend_from_slice(&inner[copied..]);
    true
}

/// Reads the pod at the cursor in one pass: the raw JSON token (`null` or a string, escapes
/// as written) of its Multus annotation, if it has one. `annotation` decodes it.
pub fn read<'a>(c: &mut Cursor<'a>) -> Read<Option<&'a [u8]>> {
    let mut networks = None;
    c.fields(&[b"metadata"], |_, c| {
        networks = metadata(c)?;
        Ok(())
    })?;
    Ok(networks)
}

fn metadata<'a>(c: &mut Cursor<'a>) -> Read<Option<&'a [u8]>> {
    let mut networks = None;
    // Names and owners are read only to name an owner in a message (`PodView`); serde's view
    // refuses a pod whose names are not strings, so their type is checked.
    let names: [&[u8]; 4] = [b"name", b"namespace", b"ownerReferences", b"annotations"];
    c.fields(&names, |field, c| match field {
        0 | 1 => c.plain_bytes().map(drop),
        2 => c.skip(),
        _ => {
            networks = annotations(c)?;
            Ok(())
        }
    })?;
    Ok(networks)
}

/// The annotations map (or `null`): the last value given for the Multus key, as serde's
/// visitor keeps it.
fn annotations<'a>(c: &mut Cursor<'a>) -> Read<Option<&'a [u8]>> {
    let mut networks = None;
    if c.null()? {
        return Ok(networks);
    }
    c.object(|key, c| {
        c.plain_key()?;
        if !key_is(key, NETWORKS_ANNOTATION.as_bytes()) {
            return c.skip();
        }
        // A string or `null` (serde's view refuses anything else); decoded only if it is the
        // last one given, and only when the MACs are wanted.
        let start = c.next_value_at();
        if !c.null()? {
            c.string()?;
        }
        networks = Some(c.since(start));
        Ok(())
    })?;
    Ok(networks)
}
