//! The index labels (behaviour.md section 7.1) that the policy writes on every object it
//! admits, in every inventory mode, and reads back from an audited object: which spans its
//! MACs are in, whether its labels are complete (`indexed`), whether it holds a MAC
//! (`tracked`). A patch changes only the labels that differ.

pub mod block;
pub mod span;

use serde_json::{Map, Value};

use crate::index::block::Block;
use crate::index::span::{Span, spans_of};
use crate::keys::{
    INDEXED_LABEL, INDEXED_VALUE, SPAN_LABEL_PREFIX, TRACKED_LABEL, TRACKED_VALUE,
    V1_BLOCK_LABEL_PREFIX,
};
use crate::mac::Mac;
use crate::object::owner::Kind;

/// What an object's labels say about its place in the index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexLabels {
    /// The spans of its well-formed span labels for its own kind, ascending.
    pub spans: Vec<Span>,
    /// `kubemacpool.io/indexed: "v2"`.
    pub indexed: bool,
    /// `kubemacpool.io/tracked: "true"`.
    pub tracked: bool,
}

impl IndexLabels {
    /// Reads `metadata.labels` of `object`, a `kind`; labels of the wrong type count as absent.
    pub fn read(object: &Value, kind: Kind) -> IndexLabels {
        let Some(labels) = object
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
        else {
            return IndexLabels::default();
        };
        let is = |key: &str, value: &str| labels.get(key).and_then(Value::as_str) == Some(value);
        let mut spans: Vec<Span> = labels
            .keys()
            .filter_map(|key| Span::from_label(kind, key))
            .collect();
        spans.sort_unstable();
        IndexLabels {
            spans,
            indexed: is(INDEXED_LABEL, INDEXED_VALUE),
            tracked: is(TRACKED_LABEL, TRACKED_VALUE),
        }
    }

    /// Whether a span label covers `block`.
    pub fn covers(&self, block: Block) -> bool {
        self.spans.iter().any(|span| span.contains(block))
    }
}

/// Whether an object gets `kubemacpool.io/indexed: "v2"` from the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indexed {
    /// VMs the policy handles, with MACs or without: a VM without MACs is indexed too, so the
    /// legacy list stops returning it.
    Always,
    /// Pods: only those that hold a MAC, since `indexed` on a Pod without `tracked` would mean
    /// nothing to any list.
    WhenHolding,
}

/// Makes the labels of `object`, a `kind`, match the MACs it holds: a span label per span of
/// `macs` and no other label with that prefix (nor any `v1` block label), `tracked` when it holds
/// one (never removed), `indexed` as `rule` says (never removed; `v1` becomes `v2`). Labels
/// already right are left untouched, so an object whose labels are right gets no patch.
pub fn write_labels(object: &mut Value, kind: Kind, macs: &[Mac], rule: Indexed) {
    let holds = !macs.is_empty();
    let spans = spans_of(kind, macs.iter().copied());
    let mut wanted: Vec<(String, &str)> = spans.iter().map(|s| (s.label(), "")).collect();
    if holds {
        wanted.push((TRACKED_LABEL.to_string(), TRACKED_VALUE));
    }
    if holds || rule == Indexed::Always {
        wanted.push((INDEXED_LABEL.to_string(), INDEXED_VALUE));
    }
    let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let stale = |key: &str| {
        key.starts_with(V1_BLOCK_LABEL_PREFIX)
            || (key.starts_with(SPAN_LABEL_PREFIX)
                && !Span::from_label(kind, key).is_some_and(|s| spans.contains(&s)))
    };
    // Nothing to add and nothing to remove: a missing `labels` stays missing.
    let current = metadata.get("labels").and_then(Value::as_object);
    if wanted.is_empty() && current.is_none_or(|labels| !labels.keys().any(|k| stale(k))) {
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
    labels.retain(|key, _| !stale(key));
    for (key, value) in wanted {
        if labels.get(&key).and_then(Value::as_str) != Some(value) {
            labels.insert(key, Value::String(value.to_string()));
        }
    }
}

#[cfg(test)]
mod tests;
