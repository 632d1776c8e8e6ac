//! The allocator's cost where it matters: the default 2^40-address pool with 100,000 used
//! addresses, scattered and in one dense run at the search start.

use criterion::{Criterion, criterion_group, criterion_main};
use kubemacpool_policy::allocation::walk::{UsedSet, allocate};
use kubemacpool_policy::mac::Mac;
use kubemacpool_policy::mac::pool::Pool;
use kubemacpool_policy::protocol::allocation_hash;
use std::hint::black_box;

const BASE: u64 = 0x0200_0000_0000;
const USED: u64 = 100_000;

/// Deterministic pseudo-random addresses (SplitMix64), so every run measures the same set.
fn scattered(count: u64) -> UsedSet {
    let mut state = 0x1234_5678_u64;
    (0..count)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            Mac::from_u64(BASE + ((z ^ (z >> 31)) % (1 << 40)))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let pool = Pool::new(
        Mac::from_u64(BASE),
        Mac::from_u64(BASE + (1 << 40) - 1),
        &[],
    );
    let scattered = scattered(USED);
    let dense: UsedSet = (0..USED).map(|o| Mac::from_u64(BASE + o)).collect();
    let mut n = 0u64;
    c.bench_function("allocate: 2^40 pool, 100,000 used (scattered)", |b| {
        b.iter(|| {
            n += 1;
            let start = allocation_hash(&["", "VirtualMachine", "default", "vm", &n.to_string()]);
            black_box(allocate(&pool, &scattered, start))
        })
    });
    c.bench_function(
        "allocate: 2^40 pool, 100,000 used (dense run at the start)",
        |b| b.iter(|| black_box(allocate(&pool, &dense, black_box(0)))),
    );
    c.bench_function(
        "allocate: 2^40 pool, 100,000 used in list order, with the used set built",
        |b| {
            // In the order policy-server lists a watch (its store's hash order): no order.
            let mut macs: Vec<Mac> = (0..USED).map(|o| Mac::from_u64(BASE + o * 7919)).collect();
            macs.sort_by_key(|mac| {
                mac.to_u64()
                    .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    .rotate_left(29)
            });
            b.iter(|| {
                let used: UsedSet = macs.iter().copied().collect();
                black_box(allocate(&pool, &used, 12345))
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
