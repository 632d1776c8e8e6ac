//! Spans (behaviour.md section 7.1): runs of consecutive blocks that the index's lists select.
//! Allocation works by block; the lists and the labels work by span, so that a policy-server
//! keeps a bounded number of watches (64 VM spans + 16 Pod spans + 2 legacy lists), coarse for
//! Pods (every Pod event is matched against every Pod watch) and finer for VMs (VM events are
//! rare and VM lists the larger ones).

use std::fmt;

use crate::index::block::Block;
use crate::keys::SPAN_LABEL_PREFIX;
use crate::mac::Mac;
use crate::object::owner::Kind;

/// The blocks in one span of `kind`'s index.
pub const fn span_blocks(kind: Kind) -> u8 {
    match kind {
        Kind::VirtualMachine => 4,
        Kind::Pod => 16,
    }
}

/// The span of `kind`'s index that holds a block: blocks `first ..= first + width - 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    kind: Kind,
    first: u8,
}

impl Span {
    pub const fn of(kind: Kind, block: Block) -> Span {
        let width = span_blocks(kind);
        Span {
            kind,
            first: block.octet() / width * width,
        }
    }

    pub const fn first(self) -> Block {
        Block::new(self.first)
    }

    pub const fn last(self) -> Block {
        Block::new(self.first + (span_blocks(self.kind) - 1))
    }

    pub fn contains(self, block: Block) -> bool {
        (self.first()..=self.last()).contains(&block)
    }

    /// `mac-blocks.kubemacpool.io/3c-3f`: the label key, also the existence selector of its list.
    pub fn label(self) -> String {
        format!("{SPAN_LABEL_PREFIX}{self}")
    }

    /// The span of `kind` a label key names: the prefix and `<first>-<last>` exactly as the
    /// policy writes them for that kind. Anything else under the prefix (another kind's span,
    /// other digits) is no span of this object's index, and a stale label.
    pub fn from_label(kind: Kind, key: &str) -> Option<Span> {
        let (first, last) = key.strip_prefix(SPAN_LABEL_PREFIX)?.split_once('-')?;
        let first = Block::from_hex(first)?;
        let span = Span::of(kind, first);
        (span.first() == first && span.last() == Block::from_hex(last)?).then_some(span)
    }
}

/// `<first>-<last>`, two lower-case hex digits each, as in the label.
impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first(), self.last())
    }
}

/// The spans of `kind`'s index that hold `macs`, ascending, each once.
pub fn spans_of(kind: Kind, macs: impl IntoIterator<Item = Mac>) -> Vec<Span> {
    let mut spans: Vec<Span> = macs
        .into_iter()
        .map(|mac| Span::of(kind, Block::of(mac)))
        .collect();
    spans.sort_unstable();
    spans.dedup();
    spans
}
