//! MAC ranges and the pool: `[rangeStart, rangeEnd]` minus `excludedMacs` minus every address
//! whose first octet has the multicast bit set minus the reserved address, kept as sorted
//! disjoint segments so that its size, membership and n-th address cost O(log segments),
//! whatever the pool size.

use crate::mac::{Mac, ParseMacError};

/// An inclusive range of addresses, `first <= last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MacRange {
    pub first: Mac,
    pub last: Mac,
}

/// Why an `excludedMacs` entry is not a MAC or a `MAC-MAC` range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseRangeError {
    /// Neither a MAC nor two MACs joined by `-`.
    #[error("{0} (expected a MAC or a MAC-MAC range)")]
    Malformed(ParseMacError),
    /// Both ends parse but the first is above the last.
    #[error("range {first}-{last} ends before it starts")]
    Reversed { first: Mac, last: Mac },
}

impl MacRange {
    pub fn single(mac: Mac) -> Self {
        MacRange {
            first: mac,
            last: mac,
        }
    }

    /// Parses `MAC` or `MAC-MAC`. Since `-` also separates the octets of the dashed spelling,
    /// the range separator is the `-` whose two sides both parse as a MAC.
    pub fn parse(input: &str) -> Result<MacRange, ParseRangeError> {
        let text = input.trim();
        let not_a_mac = match Mac::parse(text) {
            Ok(mac) => return Ok(MacRange::single(mac)),
            Err(e) => e,
        };
        let split = text.match_indices('-').find_map(|(at, _)| {
            let first = Mac::parse(text[..at].trim()).ok()?;
            let last = Mac::parse(text[at + 1..].trim()).ok()?;
            Some((first, last))
        });
        match split {
            Some((first, last)) if first <= last => Ok(MacRange { first, last }),
            Some((first, last)) => Err(ParseRangeError::Reversed { first, last }),
            None => Err(ParseRangeError::Malformed(not_a_mac)),
        }
    }
}

/// `02:00:00:00:00:00`: KubeVirt's in-pod bridge address for masquerade, which KubeVirt rejects
/// on an interface (behaviour.md section 3). Never in the pool; a user may still request it.
pub const RESERVED: Mac = Mac::from_u64(0x0200_0000_0000);

/// The addresses the allocator may hand out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    /// Sorted, disjoint, non-adjacent inclusive segments `(first, last)`.
    segments: Vec<(u64, u64)>,
    /// `starts[i]` is the number of pool addresses before segment `i`, for `nth`.
    starts: Vec<u64>,
    size: u64,
}

const OCTET_SPAN: u64 = 1 << 40;

impl Pool {
    /// The pool for `[start, end]`, without `excluded`, multicast addresses and `RESERVED`.
    /// `start > end` gives an empty pool; settings validation refuses that before it gets here.
    pub fn new(start: Mac, end: Mac, excluded: &[MacRange]) -> Pool {
        let (start, end) = (start.to_u64(), end.to_u64());
        // Unicast blocks: a multicast bit in the first octet rules out a whole 2^40 block.
        let mut unicast = Vec::new();
        if start <= end {
            for octet in (start >> 40)..=(end >> 40) {
                if octet & 1 == 0 {
                    let block = octet * OCTET_SPAN;
                    unicast.push((start.max(block), end.min(block + OCTET_SPAN - 1)));
                }
            }
        }
        let mut holes: Vec<(u64, u64)> = excluded
            .iter()
            .chain([&MacRange::single(RESERVED)])
            .map(|r| (r.first.to_u64(), r.last.to_u64()))
            .collect();
        holes.sort_unstable();
        let segments = subtract(&unicast, &holes);
        let mut starts = Vec::with_capacity(segments.len());
        let mut size = 0;
        for &(first, last) in &segments {
            starts.push(size);
            size += last - first + 1;
        }
        Pool {
            segments,
            starts,
            size,
        }
    }

    /// Number of addresses in the pool.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    pub fn contains(&self, mac: Mac) -> bool {
        self.segment_of(mac.to_u64()).is_some()
    }

    /// The segments, in ascending order, as inclusive `(first, last)` integer pairs.
    pub fn segments(&self) -> &[(u64, u64)] {
        &self.segments
    }

    /// Index of the segment that holds `value`.
    pub fn segment_of(&self, value: u64) -> Option<usize> {
        let index = self.segments.partition_point(|&(_, last)| last < value);
        match self.segments.get(index) {
            Some(&(first, _)) if first <= value => Some(index),
            _ => None,
        }
    }

    /// The first segment that ends at or above `value`, as `(first, last)`.
    pub fn segment_at_or_after(&self, value: u64) -> Option<(u64, u64)> {
        let index = self.segments.partition_point(|&(_, last)| last < value);
        self.segments.get(index).copied()
    }

    /// The `n`-th address of the pool (0-based) and its segment, for `n < size`.
    pub fn nth(&self, n: u64) -> Option<(usize, Mac)> {
        if n >= self.size {
            return None;
        }
        let index = self.starts.partition_point(|&s| s <= n) - 1;
        let (first, _) = self.segments[index];
        Some((index, Mac::from_u64(first + (n - self.starts[index]))))
    }
}

/// `ranges` minus `holes`; both sorted by start, `ranges` disjoint, `holes` may overlap.
fn subtract(ranges: &[(u64, u64)], holes: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::with_capacity(ranges.len() + holes.len());
    let mut next_hole = 0;
    for &(first, last) in ranges {
        let mut cursor = first;
        // Holes that end before this range cannot touch it or any later one.
        while next_hole < holes.len() && holes[next_hole].1 < first {
            next_hole += 1;
        }
        let mut hole = next_hole;
        while cursor <= last && hole < holes.len() && holes[hole].0 <= last {
            let (hole_first, hole_last) = holes[hole];
            if hole_first > cursor {
                out.push((cursor, hole_first - 1));
            }
            if hole_last >= last {
                cursor = last + 1;
                break;
            }
            cursor = cursor.max(hole_last + 1);
            hole += 1;
        }
        if cursor <= last {
            out.push((cursor, last));
        }
    }
    out
}
