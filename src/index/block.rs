//! Blocks of the MAC space (behaviour.md section 7.1): a MAC's fifth octet. `inventory: indexed`
//! lists only the objects labelled with the blocks a request needs, and allocates all blanks of
//! an object inside one block, so this module answers the geometry questions: which block a MAC
//! is in, which blocks hold pool addresses, and the addresses of the range inside one block.

use std::fmt;

use crate::mac::Mac;
use crate::mac::pool::Pool;

/// Number of blocks: one per value of the fifth octet.
pub const BLOCKS: usize = 256;

/// The fifth octet of a MAC. It depends on the MAC alone, never on a setting, so a label written
/// under one range, seed or mode stays right under any other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Block(u8);

/// The addresses of one value of the upper four octets that share a fifth octet: 256 of them.
const RUN: u64 = 1 << 8;
/// The distance between two runs of the same block.
const STRIDE: u64 = 1 << 16;

impl Block {
    pub const fn new(octet: u8) -> Block {
        Block(octet)
    }

    pub const fn octet(self) -> u8 {
        self.0
    }

    pub const fn of(mac: Mac) -> Block {
        Block((mac.to_u64() >> 8) as u8)
    }

    /// The block two lower-case hex digits name, as the policy writes them in span labels.
    pub fn from_hex(digits: &str) -> Option<Block> {
        let valid = digits.len() == 2
            && digits
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !valid {
            return None;
        }
        u8::from_str_radix(digits, 16).ok().map(Block)
    }

    /// The first address at or above `value` in this block (it may lie past the range end).
    fn next_at_or_after(self, value: u64) -> u64 {
        let octet = (value >> 8) & 0xff;
        let base = value & !(STRIDE - 1);
        let own = u64::from(self.0) << 8;
        match octet.cmp(&u64::from(self.0)) {
            std::cmp::Ordering::Equal => value,
            std::cmp::Ordering::Less => base | own,
            std::cmp::Ordering::Greater => (base + STRIDE) | own,
        }
    }
}

/// Two lower-case hex digits, as in span labels.
impl fmt::Display for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}", self.0)
    }
}

/// The blocks of `macs`, ascending, each once.
pub fn blocks_of(macs: impl IntoIterator<Item = Mac>) -> Vec<Block> {
    let mut blocks: Vec<Block> = macs.into_iter().map(Block::of).collect();
    blocks.sort_unstable();
    blocks.dedup();
    blocks
}

/// The blocks that hold at least one pool address, ascending.
pub fn pool_blocks(pool: &Pool) -> Vec<Block> {
    let mut present = [false; BLOCKS];
    let mut count = 0;
    for &(first, last) in pool.segments() {
        // A segment of 2^16 addresses or more crosses every block.
        if last - first >= STRIDE - 1 {
            return (0..=u8::MAX).map(Block).collect();
        }
        let mut at = first;
        while at <= last {
            let octet = ((at >> 8) & 0xff) as usize;
            if !present[octet] {
                present[octet] = true;
                count += 1;
                if count == BLOCKS {
                    return (0..=u8::MAX).map(Block).collect();
                }
            }
            at = (at | (RUN - 1)) + 1;
        }
    }
    (0..=u8::MAX)
        .filter(|&octet| present[usize::from(octet)])
        .map(Block)
        .collect()
}

/// The addresses of the range `[first, last]` in one block, in ascending order: one run of at
/// most 256 per value of the upper four octets. The allocator's walk inside a block goes
/// through this sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRange {
    pub block: Block,
    pub first: u64,
    pub last: u64,
}

impl BlockRange {
    pub fn new(block: Block, first: Mac, last: Mac) -> BlockRange {
        BlockRange {
            block,
            first: first.to_u64(),
            last: last.to_u64(),
        }
    }

    /// The run of the block for the upper-octet value `prefix`, clipped to the range.
    fn run(&self, prefix: u64) -> Option<(u64, u64)> {
        let start = (prefix << 16) | (u64::from(self.block.0) << 8);
        let (low, high) = (start.max(self.first), (start + RUN - 1).min(self.last));
        (low <= high).then_some((low, high))
    }

    fn run_len(&self, prefix: u64) -> u64 {
        self.run(prefix).map_or(0, |(low, high)| high - low + 1)
    }

    /// Number of range addresses in the block.
    pub fn size(&self) -> u64 {
        if self.first > self.last {
            return 0;
        }
        let (p0, p1) = (self.first >> 16, self.last >> 16);
        if p0 == p1 {
            return self.run_len(p0);
        }
        self.run_len(p0) + (p1 - p0 - 1) * RUN + self.run_len(p1)
    }

    /// The `n`-th range address of the block (0-based), for `n < len`.
    pub fn nth(&self, n: u64) -> Option<u64> {
        if n >= self.size() {
            return None;
        }
        let (p0, p1) = (self.first >> 16, self.last >> 16);
        let head = self.run_len(p0);
        if n < head {
            return self.run(p0).map(|(low, _)| low + n);
        }
        let n = n - head;
        let middle = p1.saturating_sub(p0 + 1) * RUN;
        if n < middle {
            let prefix = p0 + 1 + n / RUN;
            return Some((prefix << 16) | (u64::from(self.block.0) << 8) | (n % RUN));
        }
        self.run(p1).map(|(low, _)| low + (n - middle))
    }

    /// The first address of the block at or above `value` and not above `to`.
    pub fn next_at_or_after(&self, value: u64, to: u64) -> Option<u64> {
        let next = self.block.next_at_or_after(value.max(self.first));
        (next <= to.min(self.last)).then_some(next)
    }

    /// The end of the run that holds `value`, an address of the block.
    pub fn run_end(&self, value: u64) -> u64 {
        (value | (RUN - 1)).min(self.last)
    }
}
