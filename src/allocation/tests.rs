//! Table and property tests of the walk and the allocation hash (behaviour.md section 6), kept apart from the code.

/// behaviour.md section 6: the hash start, the upward walk with wrap-around, exhaustion.
mod walk {

    use crate::allocation::hash::allocation_hash;
    use crate::allocation::walk::{UsedSet, allocate, free_count};
    use crate::mac::Mac;
    use crate::mac::pool::{MacRange, Pool};
    use proptest::prelude::*;

    fn mac(text: &str) -> Mac {
        Mac::parse(text).unwrap()
    }

    fn small_pool(first: &str, last: &str) -> Pool {
        Pool::new(mac(first), mac(last), &[])
    }

    fn used(macs: &[&str]) -> UsedSet {
        macs.iter().map(|m| mac(m)).collect()
    }

    #[test]
    fn the_search_starts_at_the_hash_modulo_the_pool_size() {
        let pool = small_pool("02:00:00:00:01:00", "02:00:00:00:01:0f");
        assert_eq!(
            allocate(&pool, &UsedSet::new(), 5).unwrap(),
            mac("02:00:00:00:01:05")
        );
        assert_eq!(
            allocate(&pool, &UsedSet::new(), 16 + 5).unwrap(),
            mac("02:00:00:00:01:05")
        );
    }

    #[test]
    fn the_walk_goes_upward_past_used_addresses() {
        let pool = small_pool("02:00:00:00:00:00", "02:00:00:00:00:0f");
        let taken = used(&[
            "02:00:00:00:00:05",
            "02:00:00:00:00:06",
            "02:00:00:00:00:07",
        ]);
        assert_eq!(
            allocate(&pool, &taken, 5).unwrap(),
            mac("02:00:00:00:00:08")
        );
    }

    #[test]
    fn the_walk_wraps_around_to_the_start_of_the_pool() {
        let pool = small_pool("02:00:00:00:01:00", "02:00:00:00:01:03");
        let taken = used(&["02:00:00:00:01:02", "02:00:00:00:01:03"]);
        assert_eq!(
            allocate(&pool, &taken, 2).unwrap(),
            mac("02:00:00:00:01:00")
        );
    }

    #[test]
    fn the_reserved_address_is_never_handed_out() {
        // behaviour.md section 3: 02:00:00:00:00:00 is KubeVirt's in-pod bridge address.
        let pool = small_pool("02:00:00:00:00:00", "02:00:00:00:00:03");
        assert_eq!(pool.size(), 3);
        assert!(!pool.contains(crate::mac::pool::RESERVED));
        for start in 0..6 {
            assert_ne!(
                allocate(&pool, &UsedSet::new(), start),
                Some(crate::mac::pool::RESERVED)
            );
        }
        let taken = used(&[
            "02:00:00:00:00:01",
            "02:00:00:00:00:02",
            "02:00:00:00:00:03",
        ]);
        assert_eq!(allocate(&pool, &taken, 0), None);
    }

    #[test]
    fn the_walk_jumps_over_excluded_addresses() {
        let excluded = [MacRange {
            first: mac("02:00:00:00:00:02"),
            last: mac("02:00:00:00:00:0d"),
        }];
        let pool = Pool::new(
            mac("02:00:00:00:00:00"),
            mac("02:00:00:00:00:0f"),
            &excluded,
        );
        let taken = used(&["02:00:00:00:00:01"]);
        // Pool index 1 is 02:..:01 (used); the next pool address is 02:..:0e.
        assert_eq!(
            allocate(&pool, &taken, 1).unwrap(),
            mac("02:00:00:00:00:0e")
        );
    }

    #[test]
    fn a_full_pool_is_reported_full() {
        let pool = small_pool("02:00:00:00:00:00", "02:00:00:00:00:01");
        let taken = used(&["02:00:00:00:00:00", "02:00:00:00:00:01"]);
        assert_eq!(free_count(&pool, &taken), 0);
        assert_eq!(allocate(&pool, &taken, 0), None);
    }

    #[test]
    fn an_empty_pool_is_reported_full() {
        let pool = Pool::new(
            mac("02:00:00:00:00:00"),
            mac("02:00:00:00:00:01"),
            &[MacRange {
                first: mac("02:00:00:00:00:00"),
                last: mac("02:00:00:00:00:01"),
            }],
        );
        assert_eq!(allocate(&pool, &UsedSet::new(), 7), None);
    }

    #[test]
    fn used_addresses_outside_the_pool_do_not_count_against_it() {
        let pool = small_pool("02:00:00:00:00:00", "02:00:00:00:00:01");
        let taken = used(&["0a:00:00:00:00:00", "02:00:00:00:00:00"]);
        assert_eq!(free_count(&pool, &taken), 1);
        assert_eq!(
            allocate(&pool, &taken, 0).unwrap(),
            mac("02:00:00:00:00:01")
        );
    }

    #[test]
    fn a_range_crossing_into_a_multicast_octet_never_yields_multicast() {
        let pool = small_pool("02:ff:ff:ff:ff:ff", "04:00:00:00:00:00");
        let taken = used(&["02:ff:ff:ff:ff:ff"]);
        let got = allocate(&pool, &taken, 0).unwrap();
        assert_eq!(got, mac("04:00:00:00:00:00"));
        assert!(!got.is_multicast());
    }

    /// The hash is pinned: a change here changes every MAC the policy would hand out for a given
    /// object, which operators relying on deterministic answers must be told about.
    #[test]
    fn the_allocation_hash_is_stable_across_builds() {
        // Values computed independently from the definition (FNV-1a 64 with 0xFF separators,
        // then the SplitMix64 finaliser).
        assert_eq!(allocation_hash(&[]), 0xf52a_15e9_a9b5_e89b);
        assert_eq!(
            allocation_hash(&["", "VirtualMachine", "default", "vm1", "default"]),
            0xacc0_9c45_7bf4_f5c5
        );
        assert_ne!(allocation_hash(&["ab", "c"]), allocation_hash(&["a", "bc"]));
        assert_ne!(
            allocation_hash(&["seed-a", "x"]),
            allocation_hash(&["seed-b", "x"])
        );
    }

    fn pool_and_used() -> impl Strategy<Value = (Pool, UsedSet, u64)> {
        (
            0u64..(1 << 48) - 5000,
            1u64..5000,
            prop::collection::vec(0u64..5000, 0..300),
            prop::collection::vec((0u64..5000, 0u64..50), 0..4),
            any::<u64>(),
        )
            .prop_map(|(start, len, offsets, holes, hash)| {
                let excluded: Vec<MacRange> = holes
                    .iter()
                    .map(|&(at, width)| MacRange {
                        first: Mac::from_u64(start + at),
                        last: Mac::from_u64(start + at + width),
                    })
                    .collect();
                let pool = Pool::new(Mac::from_u64(start), Mac::from_u64(start + len), &excluded);
                let used = offsets.iter().map(|&o| Mac::from_u64(start + o)).collect();
                (pool, used, hash)
            })
    }

    proptest! {
        #[test]
        fn an_allocated_mac_is_in_the_pool_and_not_used((pool, used, hash) in pool_and_used()) {
            match allocate(&pool, &used, hash) {
                Some(mac) => {
                    prop_assert!(pool.contains(mac));
                    prop_assert!(!used.contains(mac));
                    prop_assert!(!mac.is_multicast());
                }
                None => prop_assert_eq!(free_count(&pool, &used), 0),
            }
        }

        #[test]
        fn the_same_inputs_give_the_same_mac((pool, used, hash) in pool_and_used()) {
            prop_assert_eq!(allocate(&pool, &used, hash), allocate(&pool, &used, hash));
        }

        #[test]
        fn a_pool_with_one_free_address_finds_it(len in 1u64..2000, free in 0u64..2000, hash in any::<u64>()) {
            let free = free % (len + 1);
            let start = 0x0200_0000_0100u64;
            let pool = Pool::new(Mac::from_u64(start), Mac::from_u64(start + len), &[]);
            let used: UsedSet = (0..=len).filter(|&o| o != free).map(|o| Mac::from_u64(start + o)).collect();
            prop_assert_eq!(allocate(&pool, &used, hash), Some(Mac::from_u64(start + free)));
        }

        #[test]
        fn a_full_pool_is_always_full(len in 0u64..2000, hash in any::<u64>()) {
            let start = 0x0200_0000_0100u64;
            let pool = Pool::new(Mac::from_u64(start), Mac::from_u64(start + len), &[]);
            let used: UsedSet = (0..=len).map(|o| Mac::from_u64(start + o)).collect();
            prop_assert_eq!(allocate(&pool, &used, hash), None);
        }

        /// Allocating until the pool is full hands out every pool address exactly once.
        #[test]
        fn repeated_allocation_fills_the_pool_without_repeats(len in 0u64..300, hashes in prop::collection::vec(any::<u64>(), 301)) {
            let start = 0x0200_0000_0100u64;
            let pool = Pool::new(Mac::from_u64(start), Mac::from_u64(start + len), &[]);
            let mut used = UsedSet::new();
            for hash in hashes.iter().take(len as usize + 1) {
                let mac = allocate(&pool, &used, *hash).expect("pool not yet full");
                prop_assert!(!used.contains(mac));
                used.insert(mac);
            }
            prop_assert_eq!(allocate(&pool, &used, hashes[300]), None);
        }
    }

    #[test]
    fn a_huge_pool_with_many_used_addresses_still_allocates() {
        let pool = small_pool("02:00:00:00:00:00", "02:ff:ff:ff:ff:ff");
        // 100,000 used addresses in one run right where the search starts.
        let taken: UsedSet = (0..100_000u64)
            .map(|o| Mac::from_u64(0x0200_0000_0000 + o))
            .collect();
        assert_eq!(
            allocate(&pool, &taken, 0).unwrap(),
            Mac::from_u64(0x0200_0000_0000 + 100_000)
        );
    }

    proptest! {
        /// The used set is built from the cluster's MACs in the host's list order, with repeats:
        /// it holds each exactly once, whatever the order, and nothing else.
        #[test]
        fn a_used_set_holds_every_mac_given_in_any_order_once(
            values in prop::collection::vec(0u64..(1 << 48), 0..400),
            repeats in 0usize..4,
        ) {
            let mut given: Vec<Mac> = values.iter().map(|&v| Mac::from_u64(v)).collect();
            given.extend(given.clone().into_iter().take(repeats * 10));
            let used: UsedSet = given.iter().copied().collect();
            let mut distinct = values.clone();
            distinct.sort_unstable();
            distinct.dedup();
            prop_assert_eq!(used.count(), distinct.len());
            for &mac in &given {
                prop_assert!(used.contains(mac));
            }
            for next in distinct.iter().map(|v| v + 1) {
                prop_assert_eq!(used.contains(Mac::from_u64(next)), distinct.binary_search(&next).is_ok());
            }
        }
    }
}

/// Bad input at scale: a pool used up but for one address.
mod scale {
    use crate::allocation::walk::{UsedSet, allocate};
    use crate::mac::Mac;
    use crate::mac::pool::Pool;

    #[test]
    fn a_million_used_macs_in_a_two_to_the_twenty_pool_still_allocate() {
        let base = 0x0200_0000_0000u64;
        let pool = Pool::new(
            Mac::from_u64(base),
            Mac::from_u64(base + (1 << 20) - 1),
            &[],
        );
        // Every address used but one in the middle: the walk must find it from anywhere.
        let free = base + 777_777;
        let used: UsedSet = (0..1u64 << 20)
            .map(|o| base + o)
            .filter(|&m| m != free)
            .map(Mac::from_u64)
            .collect();
        assert_eq!(used.count(), (1 << 20) - 1);
        for start in [0, 777_776, 777_778, (1 << 20) - 1, u64::MAX] {
            assert_eq!(allocate(&pool, &used, start), Some(Mac::from_u64(free)));
        }
    }
}
