//! What the policy asks of the host and how it places MACs, for the tooling around it: the
//! list calls (kinds, field masks), the label keys and selectors, the allocation hash and the
//! block and span geometry of `inventory: indexed` (behaviour.md sections 6, 7 and 7.1). The fixture
//! generators, the fake API server's cluster generator, the benchmarks and the engine-floor
//! guest take them from here (Rust) or from `describe` and the test host's `protocol` command
//! (other languages), never from a copy.

use serde_json::{Value, json};

pub use crate::allocation::hash::allocation_hash;
pub use crate::allocation::seed::seed_request;
pub use crate::inventory::{ListCall, POD_LIST, VM_LIST};
pub use crate::keys::*;
pub use crate::object::owner::Kind;

use crate::allocation::hash::{home_block, place_start};
use crate::index::block::{Block, BlockRange, pool_blocks};
use crate::index::span::{Span, span_blocks};
use crate::mac::Mac;
use crate::settings::Settings;

/// The block (fifth octet) of `mac`.
pub fn block_of(mac: Mac) -> u8 {
    Block::of(mac).octet()
}

/// The span label that marks a `kind` holding a MAC of `block`, also its list's selector.
pub fn span_label(kind: Kind, block: u8) -> String {
    Span::of(kind, Block::new(block)).label()
}

/// Under `inventory: indexed`, the block an object's blanks go to; `None` for an empty pool.
/// `settings.seed` is the seed the admission uses: the setting, or the cluster's
/// `kube-system` uid when the setting is empty.
pub fn object_block(settings: &Settings, kind: Kind, namespace: &str, name: &str) -> Option<u8> {
    let blocks = pool_blocks(&settings.pool);
    if blocks.is_empty() {
        return None;
    }
    let k = home_block(&settings.seed, kind, namespace, name, blocks.len());
    Some(blocks[k].octet())
}

/// Under `inventory: indexed`, where the search for `place` (an interface or network name)
/// starts: the address of the object's block that the walk tries first.
pub fn search_start(
    settings: &Settings,
    kind: Kind,
    namespace: &str,
    name: &str,
    place: &str,
) -> Option<Mac> {
    let block = Block::new(object_block(settings, kind, namespace, name)?);
    let range = BlockRange::new(block, settings.range_start, settings.range_end);
    let start = place_start(&settings.seed, kind, namespace, name, place);
    range.nth(start % range.size()).map(Mac::from_u64)
}

/// The protocol as data, for tooling in other languages.
pub fn describe() -> Value {
    let list = |call: &ListCall| {
        json!({
            "apiVersion": call.api_version,
            "kind": call.kind.as_str(),
            "fieldMasks": call.field_masks,
        })
    };
    json!({
        "lists": { "VirtualMachine": list(&VM_LIST), "Pod": list(&POD_LIST) },
        "seed": {
            "apiVersion": seed_request().api_version,
            "kind": seed_request().kind,
            "name": seed_request().name,
        },
        "annotations": {
            "networks": NETWORKS_ANNOTATION,
            "networkStatus": NETWORK_STATUS_ANNOTATION,
        },
        "labels": {
            "tracked": [TRACKED_LABEL, TRACKED_VALUE],
            "indexed": [INDEXED_LABEL, INDEXED_VALUE],
            "spanPrefix": SPAN_LABEL_PREFIX,
            "v1BlockPrefix": V1_BLOCK_LABEL_PREFIX,
        },
        "spanBlocks": {
            "VirtualMachine": span_blocks(Kind::VirtualMachine),
            "Pod": span_blocks(Kind::Pod),
        },
        "selectors": {
            "tracked": TRACKED_SELECTOR,
            "legacyVirtualMachines": LEGACY_VM_SELECTOR,
            "legacyPods": LEGACY_POD_SELECTOR,
        },
    })
}
