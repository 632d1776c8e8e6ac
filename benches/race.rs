//! The residual race, measured (issue 7, part 4): K admissions that all see the same snapshot
//! of the cluster (none sees the others' results), each allocating one MAC. How often do two of
//! them get the same MAC? For the default `inventory: indexed` walk (the object's block by hash,
//! then a hash start inside it, behaviour.md 7.1), for the whole-pool walk of the other modes
//! (section 6), and for a cursor from the range start (a naive stateless port of Kubemacpool),
//! which hands every one of them the same address.
//!
//! `cargo bench --bench race` prints the table docs/design.md (The race bound) quotes.

use kubemacpool_policy::allocation::hash::{home_block, place_start};
use kubemacpool_policy::allocation::walk::{UsedSet, allocate, allocate_in_block, free_count};
use kubemacpool_policy::index::block::{Block, BlockRange, pool_blocks};
use kubemacpool_policy::mac::Mac;
use kubemacpool_policy::mac::pool::Pool;
use kubemacpool_policy::object::owner::Kind;
use kubemacpool_policy::protocol::allocation_hash;

const BASE: u64 = 0x0200_0000_0000;

/// Deterministic pseudo-random numbers (SplitMix64), so every run simulates the same clusters.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// A used set with `share` of the pool taken at random. A pool too large to hold that many
/// addresses in memory gets the share on its first 2^24 addresses only; the rest is free, so
/// such rows show a nearly empty pool (the formula covers the full one).
fn snapshot(bits: u32, share: f64, rng: &mut Rng) -> (Pool, (Mac, Mac), UsedSet, u64) {
    let size = 1u64 << bits;
    let range = (Mac::from_u64(BASE), Mac::from_u64(BASE + size - 1));
    let pool = Pool::new(range.0, range.1, &[]);
    let window = size.min(1 << 24);
    let used: UsedSet = (0..window)
        .filter(|_| (rng.next() % 1_000_000) < (share * 1_000_000.0) as u64)
        .map(|o| Mac::from_u64(BASE + o))
        .collect();
    let free = free_count(&pool, &used);
    (pool, range, used, free)
}

/// The default walk (behaviour.md 7.1) for one blank of the Pod `name`: its block among the
/// pool's blocks by hash, the start inside that block by hash, then block by block.
fn allocate_indexed(
    (pool, range): (&Pool, (Mac, Mac)),
    blocks: &[Block],
    used: &UsedSet,
    name: &str,
) -> Option<Mac> {
    let home = home_block("", Kind::Pod, "default", name, blocks.len());
    let start = place_start("", Kind::Pod, "default", name, "net1");
    (0..blocks.len()).find_map(|step| {
        let block = blocks[(home + step) % blocks.len()];
        allocate_in_block(pool, used, &BlockRange::new(block, range.0, range.1), start)
    })
}

/// Whether two of the MACs one allocator handed the admissions of a trial are the same.
fn collided(macs: &mut [Mac]) -> bool {
    macs.sort_unstable();
    macs.windows(2).any(|w| w[0] == w[1])
}

fn main() {
    // Criterion passes --bench; nothing else to parse.
    let trials = 400;
    let mut rng = Rng(42);
    println!(
        "| pool | used | free addresses | K | trials | block walk (default): trials with a collision | whole-pool walk: trials with a collision | cursor: trials with a collision | theory: 1 - exp(-(K(K-1)/2)(1+u)/F) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for bits in [16u32, 24, 40] {
        for share in [0.0, 0.5, 0.9] {
            let (pool, range, used, free) = snapshot(bits, share, &mut rng);
            let blocks = pool_blocks(&pool);
            for k in [2u64, 10, 100] {
                let (mut block_collisions, mut hash_collisions, mut cursor_collisions) = (0, 0, 0);
                for trial in 0..trials {
                    let names: Vec<String> = (0..k).map(|i| format!("pod-{trial}-{i}")).collect();
                    let mut by_block: Vec<Mac> = names
                        .iter()
                        .filter_map(|name| allocate_indexed((&pool, range), &blocks, &used, name))
                        .collect();
                    block_collisions += usize::from(collided(&mut by_block));
                    let mut whole_pool: Vec<Mac> = names
                        .iter()
                        .filter_map(|name| {
                            let start = allocation_hash(&["", "Pod", "default", name, "net1"]);
                            allocate(&pool, &used, start)
                        })
                        .collect();
                    hash_collisions += usize::from(collided(&mut whole_pool));
                    // The cursor starts every admission at the range start: all K get one MAC.
                    let mut cursor: Vec<Mac> =
                        (0..k).filter_map(|_| allocate(&pool, &used, 0)).collect();
                    cursor_collisions += usize::from(collided(&mut cursor));
                }
                // A free address preceded by a run of r used ones is reached from r + 1 starts,
                // so with used share u a pair collides with probability about (1 + u) / F.
                let pairs = (k * (k - 1) / 2) as f64;
                let theory = 1.0 - (-pairs * (1.0 + share) / free as f64).exp();
                println!(
                    "| 2^{bits} | {:.0}% | {free} | {k} | {trials} | {block_collisions} ({:.2}%) | {hash_collisions} ({:.2}%) | {cursor_collisions} ({:.0}%) | {:.4}% |",
                    share * 100.0,
                    100.0 * block_collisions as f64 / trials as f64,
                    100.0 * hash_collisions as f64 / trials as f64,
                    100.0 * cursor_collisions as f64 / trials as f64,
                    100.0 * theory,
                );
            }
        }
    }
}
