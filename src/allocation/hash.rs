//! The allocation hash (behaviour.md section 6): where an object's search starts, and under
//! `inventory: indexed` which block its blanks go to (section 7.1). The one copy: the test
//! tooling and the engine-floor guest take it from the public protocol module.

use crate::object::owner::Kind;

/// The start of the search for `place` (an interface or network name) of an object:
/// `hash(seed, kind, namespace, name, place)`.
pub fn place_start(seed: &str, kind: Kind, namespace: &str, hash_name: &str, place: &str) -> u64 {
    allocation_hash(&[seed, kind.as_str(), namespace, hash_name, place])
}

/// Under `indexed`, the object's block among `blocks` pool blocks: the k-th in ascending
/// order, `k = hash(seed, kind, namespace, name) mod blocks`; `blocks` is not zero.
pub fn home_block(
    seed: &str,
    kind: Kind,
    namespace: &str,
    hash_name: &str,
    blocks: usize,
) -> usize {
    let hash = allocation_hash(&[seed, kind.as_str(), namespace, hash_name]);
    (hash % blocks as u64) as usize
}

/// 64-bit FNV-1a over the parts, each followed by a 0xFF byte (which UTF-8 text never holds,
/// so `("ab", "c")` and `("a", "bc")` differ), then the SplitMix64 finaliser so that the low
/// bits used by `mod pool size` are well mixed. Fixed constants, no platform or Rust-version
/// dependence: the same object gets the same start on every build.
pub fn allocation_hash(parts: &[&str]) -> u64 {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = FNV_OFFSET;
    for part in parts {
        for &byte in part.as_bytes().iter().chain(&[0xFF]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(FNV_PRIME);
        }
    }
    splitmix64_finalise(hash)
}

fn splitmix64_finalise(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
