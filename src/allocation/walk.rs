//! The allocator: a deterministic, collision-resistant choice of a free pool address.
//!
//! Each search starts at `allocation_hash(seed, kind, namespace, name, interface) mod pool size`
//! and walks upward, with wrap-around, to the first address that is not used. Two objects
//! admitted at once, neither seeing the other, thus collide only with probability about
//! 1/(free addresses), where Kubemacpool's shared cursor would make them collide every time
//! in a stateless port.

use crate::index::block::BlockRange;
use crate::mac::Mac;
use crate::mac::pool::Pool;

/// The addresses that must not be handed out: the inventory's, the old object's, the ones the
/// object requests and those this request already allocated. Sorted and deduplicated, so that
/// a run of used addresses is a run of consecutive entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsedSet {
    macs: Vec<u64>,
}

impl UsedSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many distinct MACs the set holds; only the tests ask.
    #[cfg(test)]
    pub(crate) fn count(&self) -> usize {
        self.macs.len()
    }

    /// Only the tests ask: the walk finds gaps, it never probes one address.
    #[cfg(test)]
    pub(crate) fn contains(&self, mac: Mac) -> bool {
        self.macs.binary_search(&mac.to_u64()).is_ok()
    }

    pub fn insert(&mut self, mac: Mac) {
        if let Err(at) = self.macs.binary_search(&mac.to_u64()) {
            self.macs.insert(at, mac.to_u64());
        }
    }

    /// How many used addresses fall inside `[first, last]`.
    fn count_between(&self, first: u64, last: u64) -> u64 {
        let from = self.macs.partition_point(|&m| m < first);
        let to = self.macs.partition_point(|&m| m <= last);
        (to - from) as u64
    }

    /// The first address at or after `from`, and not after `last`, that is not used. A run
    /// of consecutive used addresses is stepped over with one binary search: within a run,
    /// `macs[index + k] == from + k`, a property that holds for a prefix of the slice only.
    fn first_gap(&self, from: u64, last: u64) -> Option<u64> {
        let index = self.macs.partition_point(|&m| m < from);
        let rest = &self.macs[index..];
        let (mut low, mut high) = (0, rest.len());
        while low < high {
            let mid = low + (high - low) / 2;
            if rest[mid] == from + mid as u64 {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        let candidate = from + low as u64;
        (candidate <= last).then_some(candidate)
    }
}

impl FromIterator<Mac> for UsedSet {
    fn from_iter<I: IntoIterator<Item = Mac>>(iter: I) -> Self {
        let mut used = UsedSet::new();
        used.extend(iter);
        used
    }
}

impl Extend<Mac> for UsedSet {
    /// A cluster's MACs come in the host's list order, which is no order: a radix sort
    /// takes a few linear passes over the 48-bit values (fewer where every MAC shares a
    /// byte, as those of one pool do) where a comparison sort takes n log n branches.
    fn extend<I: IntoIterator<Item = Mac>>(&mut self, iter: I) {
        self.macs.extend(iter.into_iter().map(Mac::to_u64));
        radsort::sort(&mut self.macs);
        self.macs.dedup();
    }
}

/// Number of pool addresses that are not used.
pub fn free_count(pool: &Pool, used: &UsedSet) -> u64 {
    let taken: u64 = pool
        .segments()
        .iter()
        .map(|&(first, last)| used.count_between(first, last))
        .sum();
    pool.size() - taken
}

/// The first free pool address at or after the pool's `start % size`-th address, wrapping
/// around; `None` when every pool address is used. Costs O(segments x log used), never
/// O(pool size): a run of used addresses and a gap between segments are each one jump.
pub fn allocate(pool: &Pool, used: &UsedSet, start: u64) -> Option<Mac> {
    if free_count(pool, used) == 0 {
        return None;
    }
    let (first_segment, first_mac) = pool.nth(start % pool.size())?;
    let segments = pool.segments();
    let mut from = first_mac.to_u64();
    // At most every segment once, plus the start segment's part below `first_mac`.
    for step in 0..=segments.len() {
        let index = (first_segment + step) % segments.len();
        let (segment_first, segment_last) = segments[index];
        if step > 0 {
            from = segment_first;
        }
        if let Some(free) = used.first_gap(from, segment_last) {
            return Some(Mac::from_u64(free));
        }
    }
    // Unreachable while free_count is right; `None` (range full) beats a wrong answer.
    None
}

/// The first free pool address of `block`, starting at its `start % len`-th range address and
/// walking upward through the block's range addresses with wrap-around (behaviour.md 7.1);
/// `None` when the block has none free. Each step either jumps to the next pool segment or
/// steps over a run of used addresses with one search, so the cost is bounded by the used
/// addresses and the pool's segments, never by the 2^32 addresses of a block.
pub fn allocate_in_block(
    pool: &Pool,
    used: &UsedSet,
    block: &BlockRange,
    start: u64,
) -> Option<Mac> {
    let len = block.size();
    if len == 0 {
        return None;
    }
    let first = block.nth(start % len)?;
    free_in_block(pool, used, block, first, block.last)
        .or_else(|| {
            first
                .checked_sub(1)
                .and_then(|before| free_in_block(pool, used, block, block.first, before))
        })
        .map(Mac::from_u64)
}

/// The first free pool address of the block in `[from, to]`.
fn free_in_block(
    pool: &Pool,
    used: &UsedSet,
    block: &BlockRange,
    from: u64,
    to: u64,
) -> Option<u64> {
    let mut at = from;
    loop {
        at = block.next_at_or_after(at, to)?;
        let (segment_first, segment_last) = pool.segment_at_or_after(at)?;
        if segment_first > at {
            // Outside the pool (an excluded range, a multicast octet): jump to the next segment.
            at = segment_first;
            continue;
        }
        let upper = block.run_end(at).min(segment_last).min(to);
        if let Some(free) = used.first_gap(at, upper) {
            return Some(free);
        }
        at = upper + 1;
    }
}
