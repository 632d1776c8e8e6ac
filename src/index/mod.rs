//! The index labels (behaviour.md section 7.1) that the policy writes on every object it
//! admits, in every inventory mode, and reads back from an audited object: which blocks its
//! MACs are in, whether its labels are complete (`indexed`), whether it holds a MAC
//! (`tracked`). A patch changes only the labels that differ.

pub mod block;

use serde_json::{Map, Value};

use crate::index::block::{Block, blocks_of};
use crate::keys::{BLOCK_LABEL_PREFIX, INDEXED_LABEL, INDEXED_VALUE, TRACKED_LABEL, TRACKED_VALUE};
use crate::mac::Mac;

/// What an object's labels say about its place in the index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexLabels {
    /// The blocks of its well-formed `mac-block` labels, ascending.
    pub blocks: Vec<Block>,
    /// `kubemacpool.io/indexed: "v1"`.
    pub indexed: bool,
    /// `kubemacpool.io/tracked: "true"`.
    pub tracked: bool,
}

impl IndexLabels {
    /// Reads `metadata.labels` of `object`; labels of the wrong type count as absent.
    pub fn read(object: &Value) -> IndexLabels {
        let Some(labels) = object
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
        else {
            return IndexLabels::default();
        };
        let is = |key: &str, value: &str| labels.get(key).and_then(Value::as_str) == Some(value);
        let mut blocks: Vec<Block> = labels.keys().filter_map(|k| Block::from_label(k)).collect();
        blocks.sort_unstable();
        IndexLabels {
            blocks,
            indexed: is(INDEXED_LABEL, INDEXED_VALUE),
            tracked: is(TRACKED_LABEL, TRACKED_VALUE),
        }
    }

    pub fn has_block(&self, block: Block) -> bool {
        self.blocks.binary_search(&block).is_ok()
    }
}

/// Whether an object gets `kubemacpool.io/indexed: "v1"` from the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indexed {
    /// VMs the policy handles, with MACs or without: a VM without MACs is indexed too, so the
    /// legacy list stops returning it.
    Always,
    /// Pods: only those that hold a MAC, since `indexed` on a Pod without `tracked` would mean
    /// nothing to any list.
    WhenHolding,
}

/// Makes the labels of `object` match the MACs it holds: a `mac-block` label per block of
/// `macs` and no other label with that prefix, `tracked` when it holds one (never removed),
/// `indexed` as `rule` says (never removed). Labels already right are left untouched, so an
/// object whose labels are right gets no patch.
pub fn write_labels(object: &mut Value, macs: &[Mac], rule: Indexed) {
    let holds = !macs.is_empty();
    let blocks = blocks_of(macs.iter().copied());
    let mut wanted: Vec<(String, &str)> = blocks.iter().map(|b| (b.label(), "")).collect();
    if holds {
        wanted.push((TRACKED_LABEL.to_string(), TRACKED_VALUE));
    }
    if holds || rule == Indexed::Always {
        wanted.push((INDEXED_LABEL.to_string(), INDEXED_VALUE));
    }
    let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let has_stale = |labels: &Map<String, Value>| {
        labels.keys().any(|key| {
            key.starts_with(BLOCK_LABEL_PREFIX)
                && !Block::from_label(key).is_some_and(|b| blocks.contains(&b))
        })
    };
    // Nothing to add and nothing to remove: a missing `labels` stays missing.
    let current = metadata.get("labels").and_then(Value::as_object);
    if wanted.is_empty() && current.is_none_or(|labels| !has_stale(labels)) {
        return;
    }
    let labels = metadata
        .entry("labels")
        .or_insert_with(|| Value::Object(Map::new()));
    if !labels.is_object() {
        *labels = Value::Object(Map::new());
    }
    let Some(labels) = labels.as_object_mut() else {
        return;
    };
    labels.retain(|key, _| {
        !key.starts_with(BLOCK_LABEL_PREFIX)
            || Block::from_label(key).is_some_and(|b| blocks.contains(&b))
    });
    for (key, value) in wanted {
        if labels.get(&key).and_then(Value::as_str) != Some(value) {
            labels.insert(key, Value::String(value.to_string()));
        }
    }
}

#[cfg(test)]
mod tests;
