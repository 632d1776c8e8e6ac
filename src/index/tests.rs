//! Table tests of blocks (behaviour.md section 7.1), kept apart from the code.

/// behaviour.md 7.1: blocks of the MAC space, the blocks that hold pool addresses, the range's
/// addresses inside one block, and the allocator's walk there.
mod block {

    use crate::allocation::walk::{UsedSet, allocate_in_block};
    use crate::index::block::{Block, BlockRange, blocks_of, pool_blocks};
    use crate::mac::Mac;
    use crate::mac::pool::Pool;
    use rstest::rstest;

    use crate::mac::tests::{mac, range};

    #[rstest]
    #[case::fifth_octet("02:aa:bb:cc:3f:dd", "3f")]
    #[case::zero("02:00:00:00:00:00", "00")]
    #[case::last("02:ff:ff:ff:ff:ff", "ff")]
    #[case::dashed_spelling("02-aa-bb-cc-0a-dd", "0a")]
    fn the_block_of_a_mac_is_its_fifth_octet_in_two_lower_case_digits(
        #[case] text: &str,
        #[case] block: &str,
    ) {
        assert_eq!(Block::of(mac(text)).to_string(), block);
        assert_eq!(Block::from_hex(block), Some(Block::of(mac(text))));
    }

    #[rstest]
    #[case::written("3f", Some(0x3f))]
    #[case::upper_case("3F", None)]
    #[case::one_digit("3", None)]
    #[case::three_digits("03f", None)]
    #[case::not_hex("3g", None)]
    fn only_two_lower_case_hex_digits_name_a_block(
        #[case] digits: &str,
        #[case] octet: Option<u8>,
    ) {
        assert_eq!(Block::from_hex(digits), octet.map(Block::new));
    }

    #[test]
    fn blocks_of_macs_are_ascending_and_unique() {
        let macs = [
            mac("02:00:00:00:3f:01"),
            mac("02:00:00:00:01:01"),
            mac("02:00:00:01:3f:02"),
        ];
        assert_eq!(blocks_of(macs), vec![Block::new(0x01), Block::new(0x3f)]);
    }

    #[test]
    fn the_default_range_holds_pool_addresses_in_every_block() {
        let pool = Pool::new(mac("02:00:00:00:00:00"), mac("02:ff:ff:ff:ff:ff"), &[]);
        assert_eq!(pool_blocks(&pool).len(), 256);
        let block = BlockRange::new(
            Block::new(0x3f),
            mac("02:00:00:00:00:00"),
            mac("02:ff:ff:ff:ff:ff"),
        );
        assert_eq!(block.size(), 1 << 32);
        assert_eq!(block.nth(0), Some(mac("02:00:00:00:3f:00").to_u64()));
        assert_eq!(block.nth(256), Some(mac("02:00:00:01:3f:00").to_u64()));
        assert_eq!(
            block.nth((1 << 32) - 1),
            Some(mac("02:ff:ff:ff:3f:ff").to_u64())
        );
        assert_eq!(block.nth(1 << 32), None);
    }

    #[test]
    fn a_pool_on_one_fifth_octet_has_one_block() {
        let pool = Pool::new(mac("02:00:00:00:3f:00"), mac("02:00:00:00:3f:ff"), &[]);
        assert_eq!(pool_blocks(&pool), vec![Block::new(0x3f)]);
    }

    #[test]
    fn excluded_and_multicast_addresses_hold_no_block() {
        // Blocks 10-12; 11 excluded whole.
        let pool = Pool::new(
            mac("02:00:00:00:10:00"),
            mac("02:00:00:00:12:ff"),
            &[range("02:00:00:00:11:00", "02:00:00:00:11:ff")],
        );
        assert_eq!(pool_blocks(&pool), vec![Block::new(0x10), Block::new(0x12)]);
        // A range entirely in a multicast first octet holds nothing.
        let pool = Pool::new(mac("03:00:00:00:00:00"), mac("03:00:00:00:ff:ff"), &[]);
        assert!(pool_blocks(&pool).is_empty());
    }

    #[test]
    fn a_partial_range_counts_only_its_own_addresses_in_a_block() {
        // 02:00:00:00:fe:f0 .. 02:00:00:01:00:0f: block fe has 16 addresses, block 00 has 16,
        // block ff 256, block 01 none.
        let (first, last) = (mac("02:00:00:00:fe:f0"), mac("02:00:00:01:00:0f"));
        assert_eq!(BlockRange::new(Block::new(0xfe), first, last).size(), 16);
        assert_eq!(BlockRange::new(Block::new(0x00), first, last).size(), 16);
        assert_eq!(BlockRange::new(Block::new(0xff), first, last).size(), 256);
        assert_eq!(BlockRange::new(Block::new(0x01), first, last).size(), 0);
        let block = BlockRange::new(Block::new(0x00), first, last);
        assert_eq!(block.nth(15), Some(mac("02:00:00:01:00:0f").to_u64()));
    }

    #[test]
    fn the_walk_starts_at_the_hashed_address_of_the_block_and_wraps_inside_it() {
        let pool = Pool::new(mac("02:00:00:00:00:00"), mac("02:00:00:00:ff:ff"), &[]);
        let block = BlockRange::new(
            Block::new(0x3f),
            mac("02:00:00:00:00:00"),
            mac("02:00:00:00:ff:ff"),
        );
        let used: UsedSet = [mac("02:00:00:00:3f:fe"), mac("02:00:00:00:3f:ff")]
            .into_iter()
            .collect();
        // Start at the 254th address: .fe and .ff are used, so it wraps to .00 of the same block.
        assert_eq!(
            allocate_in_block(&pool, &used, &block, 254),
            Some(mac("02:00:00:00:3f:00"))
        );
        assert_eq!(
            allocate_in_block(&pool, &used, &block, 256 + 5),
            Some(mac("02:00:00:00:3f:05"))
        );
    }

    #[test]
    fn the_walk_skips_excluded_addresses_and_finds_none_in_a_full_block() {
        let pool = Pool::new(
            mac("02:00:00:00:3f:00"),
            mac("02:00:00:00:3f:ff"),
            &[range("02:00:00:00:3f:00", "02:00:00:00:3f:fd")],
        );
        let block = BlockRange::new(
            Block::new(0x3f),
            mac("02:00:00:00:3f:00"),
            mac("02:00:00:00:3f:ff"),
        );
        assert_eq!(
            allocate_in_block(&pool, &UsedSet::new(), &block, 0),
            Some(mac("02:00:00:00:3f:fe"))
        );
        let used: UsedSet = [mac("02:00:00:00:3f:fe"), mac("02:00:00:00:3f:ff")]
            .into_iter()
            .collect();
        assert_eq!(allocate_in_block(&pool, &used, &block, 7), None);
    }

    #[test]
    fn the_walk_in_a_block_of_two_to_the_32_addresses_steps_over_used_runs() {
        // 2^16 used addresses: the block's first 256 runs (02:00:00:00-ff:00:xx): the walk must not visit them one by one.
        let pool = Pool::new(mac("02:00:00:00:00:00"), mac("02:ff:ff:ff:ff:ff"), &[]);
        let block = BlockRange::new(
            Block::new(0x00),
            mac("02:00:00:00:00:00"),
            mac("02:ff:ff:ff:ff:ff"),
        );
        let used: UsedSet = (0..256u64)
            .flat_map(|prefix| {
                (0..256u64).map(move |low| Mac::from_u64(0x0200_0000_0000 | prefix << 16 | low))
            })
            .collect();
        assert_eq!(
            allocate_in_block(&pool, &used, &block, 0),
            Some(mac("02:00:01:00:00:00"))
        );
    }
}

/// behaviour.md 7.1: spans, the unit the lists select: 4 blocks for VMs, 16 for Pods.
mod span {
    use crate::index::block::Block;
    use crate::index::span::{Span, spans_of};
    use crate::mac::Mac;
    use crate::object::owner::Kind;
    use rstest::rstest;

    #[rstest]
    #[case::vm_last_of_its_span(Kind::VirtualMachine, 0x3f, "3c-3f")]
    #[case::vm_first_of_its_span(Kind::VirtualMachine, 0x3c, "3c-3f")]
    #[case::vm_zero(Kind::VirtualMachine, 0x00, "00-03")]
    #[case::vm_last(Kind::VirtualMachine, 0xff, "fc-ff")]
    #[case::pod(Kind::Pod, 0x3f, "30-3f")]
    #[case::pod_zero(Kind::Pod, 0x00, "00-0f")]
    #[case::pod_last(Kind::Pod, 0xff, "f0-ff")]
    fn a_block_is_in_the_span_of_its_kind_written_first_dash_last(
        #[case] kind: Kind,
        #[case] block: u8,
        #[case] span: &str,
    ) {
        let found = Span::of(kind, Block::new(block));
        assert_eq!(found.to_string(), span);
        assert_eq!(found.label(), format!("mac-blocks.kubemacpool.io/{span}"));
        assert!(found.contains(Block::new(block)));
    }

    #[test]
    fn there_are_64_vm_spans_and_16_pod_spans() {
        let count = |kind| {
            let mut spans: Vec<Span> = (0..=255).map(|b| Span::of(kind, Block::new(b))).collect();
            spans.dedup();
            spans.len()
        };
        assert_eq!(count(Kind::VirtualMachine), 64);
        assert_eq!(count(Kind::Pod), 16);
    }

    #[rstest]
    #[case::vm_span(Kind::VirtualMachine, "mac-blocks.kubemacpool.io/3c-3f", Some("3c-3f"))]
    #[case::pod_span(Kind::Pod, "mac-blocks.kubemacpool.io/30-3f", Some("30-3f"))]
    #[case::a_pod_span_on_a_vm(Kind::VirtualMachine, "mac-blocks.kubemacpool.io/30-3f", None)]
    #[case::a_vm_span_on_a_pod(Kind::Pod, "mac-blocks.kubemacpool.io/3c-3f", None)]
    #[case::not_aligned(Kind::VirtualMachine, "mac-blocks.kubemacpool.io/3d-40", None)]
    #[case::upper_case(Kind::VirtualMachine, "mac-blocks.kubemacpool.io/3C-3F", None)]
    #[case::one_block(Kind::VirtualMachine, "mac-blocks.kubemacpool.io/3c", None)]
    #[case::v1_block_label(Kind::VirtualMachine, "mac-block.kubemacpool.io/3c", None)]
    #[case::other_prefix(Kind::Pod, "kubemacpool.io/30-3f", None)]
    fn only_labels_as_the_policy_writes_them_for_the_kind_name_a_span(
        #[case] kind: Kind,
        #[case] key: &str,
        #[case] span: Option<&str>,
    ) {
        assert_eq!(
            Span::from_label(kind, key)
                .map(|s| s.to_string())
                .as_deref(),
            span
        );
    }

    #[test]
    fn spans_of_macs_are_ascending_and_unique() {
        let macs = [
            "02:00:00:00:3f:01",
            "02:00:00:00:01:01",
            "02:00:00:01:3c:02",
        ]
        .map(|m| Mac::parse(m).unwrap());
        let vm: Vec<String> = spans_of(Kind::VirtualMachine, macs)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(vm, ["00-03", "3c-3f"]);
        let pod: Vec<String> = spans_of(Kind::Pod, macs)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(pod, ["00-0f", "30-3f"]);
    }
}
