//! Table tests of MAC parsing and the pool (behaviour.md sections 2 and 3), kept apart from the code.

use crate::mac::Mac;
use crate::mac::pool::MacRange;

/// A MAC from its text, for the table tests of every concept.
pub(crate) fn mac(text: &str) -> Mac {
    Mac::parse(text).unwrap()
}

/// The range `first-last`, for the table tests of every concept.
pub(crate) fn range(first: &str, last: &str) -> MacRange {
    MacRange {
        first: mac(first),
        last: mac(last),
    }
}

/// behaviour.md section 3: MAC spellings, normal form, multicast bit.
mod mac {

    use crate::mac::Mac;
    use rstest::rstest;

    #[rstest]
    #[case::colon_lower("aa:bb:cc:dd:ee:ff", 0xaabb_ccdd_eeff)]
    #[case::colon_upper("AA:BB:CC:DD:EE:FF", 0xaabb_ccdd_eeff)]
    #[case::colon_mixed("02:00:00:00:Ff:fF", 0x0200_0000_ffff)]
    #[case::dash("aa-bb-cc-dd-ee-ff", 0xaabb_ccdd_eeff)]
    #[case::dot("aabb.ccdd.eeff", 0xaabb_ccdd_eeff)]
    #[case::dot_upper("AABB.CCDD.EEFF", 0xaabb_ccdd_eeff)]
    #[case::zero("00:00:00:00:00:00", 0)]
    #[case::max("ff:ff:ff:ff:ff:ff", 0xffff_ffff_ffff)]
    fn accepted_spellings_parse_case_insensitively(#[case] text: &str, #[case] value: u64) {
        assert_eq!(Mac::parse(text).unwrap().to_u64(), value);
    }

    #[rstest]
    #[case::empty("")]
    #[case::eui64("aa:bb:cc:dd:ee:ff:00:11")]
    #[case::eui64_dot("aabb.ccdd.eeff.0011")]
    #[case::ipoib("00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01")]
    #[case::short("aa:bb:cc:dd:ee")]
    #[case::one_digit_octet("a:bb:cc:dd:ee:ff:0")]
    #[case::three_digit_octet("aab:bc:cd:de:ef:f0")]
    #[case::mixed_separators("aa:bb-cc:dd:ee:ff")]
    #[case::wrong_separator("aa_bb_cc_dd_ee_ff")]
    #[case::non_hex("gg:bb:cc:dd:ee:ff")]
    #[case::dot_wrong_groups("aab.bccd.deeff")]
    #[case::leading_blank(" aa:bb:cc:dd:ee:ff")]
    #[case::trailing_separator("aa:bb:cc:dd:ee:ff:")]
    #[case::non_ascii("aa:bb:cc:dd:ee:f\u{e9}")]
    #[case::control("aa:bb:cc:dd:ee:\u{0}f")]
    #[case::plus_sign("+a:bb:cc:dd:ee:ff")]
    fn other_text_is_not_a_mac(#[case] text: &str) {
        let error = Mac::parse(text).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("address {text}: invalid MAC address")
        );
    }

    #[rstest]
    #[case("AA-BB-CC-DD-EE-FF", "aa:bb:cc:dd:ee:ff")]
    #[case("0200.0000.00ff", "02:00:00:00:00:ff")]
    #[case("02:00:00:00:00:00", "02:00:00:00:00:00")]
    fn normal_form_is_lower_case_and_colon_separated(#[case] text: &str, #[case] normal: &str) {
        assert_eq!(Mac::parse(text).unwrap().to_string(), normal);
    }

    #[test]
    fn spellings_of_one_address_compare_equal() {
        let a = Mac::parse("02:00:00:00:FF:FF").unwrap();
        let b = Mac::parse("02-00-00-00-ff-ff").unwrap();
        let c = Mac::parse("0200.0000.ffff").unwrap();
        assert_eq!(a, b);
        assert_eq!(b, c);
    }

    #[rstest]
    #[case("01:00:5e:00:00:01", true)]
    #[case("03:00:00:00:00:00", true)]
    #[case("ff:ff:ff:ff:ff:ff", true)]
    #[case("02:00:00:00:00:00", false)]
    #[case("fe:ff:ff:ff:ff:ff", false)]
    fn multicast_is_bit_zero_of_the_first_octet(#[case] text: &str, #[case] multicast: bool) {
        assert_eq!(Mac::parse(text).unwrap().is_multicast(), multicast);
    }

    proptest::proptest! {
        #[test]
        fn display_then_parse_is_identity(value in 0u64..(1 << 48)) {
            let mac = Mac::from_u64(value);
            proptest::prop_assert_eq!(Mac::parse(&mac.to_string()).unwrap(), mac);
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(text in "\\PC{0,40}") {
            let _ = Mac::parse(&text);
        }
    }
}

/// behaviour.md section 3: the pool is the range minus excludedMacs minus multicast addresses.
mod pool {

    use crate::mac::Mac;
    use crate::mac::pool::{MacRange, ParseRangeError, Pool};
    use rstest::rstest;

    use super::{mac, range};

    #[rstest]
    #[case::single("02:00:00:00:00:01", range("02:00:00:00:00:01", "02:00:00:00:00:01"))]
    #[case::colon_range(
        "02:00:00:00:00:01-02:00:00:00:00:09",
        range("02:00:00:00:00:01", "02:00:00:00:00:09")
    )]
    #[case::dashed_ends(
        "02-00-00-00-00-01-02-00-00-00-00-09",
        range("02:00:00:00:00:01", "02:00:00:00:00:09")
    )]
    #[case::blanks_around(
        " 02:00:00:00:00:01 - 02:00:00:00:00:09 ",
        range("02:00:00:00:00:01", "02:00:00:00:00:09")
    )]
    #[case::dot_ends(
        "0200.0000.0001-0200.0000.0009",
        range("02:00:00:00:00:01", "02:00:00:00:00:09")
    )]
    fn excluded_entries_are_a_mac_or_a_range(#[case] text: &str, #[case] expected: MacRange) {
        assert_eq!(MacRange::parse(text).unwrap(), expected);
    }

    #[test]
    fn an_excluded_range_that_ends_before_it_starts_is_refused() {
        assert_eq!(
            MacRange::parse("02:00:00:00:00:09-02:00:00:00:00:01").unwrap_err(),
            ParseRangeError::Reversed {
                first: mac("02:00:00:00:00:09"),
                last: mac("02:00:00:00:00:01")
            }
        );
    }

    #[rstest]
    #[case("nonsense")]
    #[case("02:00:00:00:00:01-")]
    #[case("-02:00:00:00:00:01")]
    #[case("02:00:00:00:00:01--02:00:00:00:00:02")]
    fn malformed_excluded_entries_are_refused(#[case] text: &str) {
        assert!(matches!(
            MacRange::parse(text),
            Err(ParseRangeError::Malformed(_))
        ));
    }

    #[test]
    fn the_default_range_holds_two_to_the_forty_addresses_but_the_reserved_one() {
        let pool = Pool::new(mac("02:00:00:00:00:00"), mac("02:ff:ff:ff:ff:ff"), &[]);
        assert_eq!(pool.size(), (1 << 40) - 1);
        assert!(!pool.contains(mac("02:00:00:00:00:00")));
        assert!(pool.contains(mac("02:00:00:00:00:01")));
    }

    #[test]
    fn excluded_addresses_leave_the_pool() {
        let excluded = [
            MacRange::single(mac("02:00:00:00:00:00")),
            range("02:00:00:00:00:10", "02:00:00:00:00:1f"),
        ];
        let pool = Pool::new(
            mac("02:00:00:00:00:00"),
            mac("02:00:00:00:00:ff"),
            &excluded,
        );
        assert_eq!(pool.size(), 256 - 1 - 16);
        assert!(!pool.contains(mac("02:00:00:00:00:00")));
        assert!(!pool.contains(mac("02:00:00:00:00:15")));
        assert!(pool.contains(mac("02:00:00:00:00:01")));
        assert!(pool.contains(mac("02:00:00:00:00:20")));
    }

    #[test]
    fn overlapping_and_out_of_range_exclusions_are_harmless() {
        let excluded = [
            range("01:00:00:00:00:00", "02:00:00:00:00:04"),
            range("02:00:00:00:00:02", "02:00:00:00:00:06"),
            range("02:00:00:00:01:00", "04:00:00:00:00:00"),
        ];
        let pool = Pool::new(
            mac("02:00:00:00:00:00"),
            mac("02:00:00:00:00:ff"),
            &excluded,
        );
        assert_eq!(pool.segments(), &[(0x0200_0000_0007, 0x0200_0000_00ff)]);
    }

    #[test]
    fn a_range_crossing_into_a_multicast_octet_skips_it() {
        let pool = Pool::new(mac("02:ff:ff:ff:ff:fe"), mac("04:00:00:00:00:01"), &[]);
        assert_eq!(pool.size(), 4);
        assert!(!pool.contains(mac("03:00:00:00:00:00")));
        assert!(!pool.contains(mac("03:ff:ff:ff:ff:ff")));
        let all: Vec<String> = (0..4).map(|n| pool.nth(n).unwrap().1.to_string()).collect();
        assert_eq!(
            all,
            [
                "02:ff:ff:ff:ff:fe",
                "02:ff:ff:ff:ff:ff",
                "04:00:00:00:00:00",
                "04:00:00:00:00:01"
            ]
        );
    }

    #[test]
    fn a_pool_excluded_whole_is_empty() {
        let pool = Pool::new(
            mac("02:00:00:00:00:00"),
            mac("02:00:00:00:00:01"),
            &[range("02:00:00:00:00:00", "02:00:00:00:00:01")],
        );
        assert!(pool.is_empty());
        assert_eq!(pool.nth(0), None);
    }

    proptest::proptest! {
        /// nth enumerates exactly the pool: every address it yields is in the pool, unicast,
        /// not excluded, and in range.
        #[test]
        fn nth_yields_only_pool_addresses(
            start in 0u64..(1 << 48) - 600,
            len in 1u64..600,
            holes in proptest::collection::vec((0u64..600, 0u64..40), 0..6),
            n in 0u64..600,
        ) {
            let excluded: Vec<MacRange> = holes.iter().map(|&(at, width)| MacRange {
                first: Mac::from_u64(start + at),
                last: Mac::from_u64(start + at + width),
            }).collect();
            let pool = Pool::new(Mac::from_u64(start), Mac::from_u64(start + len), &excluded);
            let expected: Vec<u64> = (start..=start + len)
                .filter(|&v| !Mac::from_u64(v).is_multicast())
                .filter(|&v| !excluded.iter().any(|r| r.first.to_u64() <= v && v <= r.last.to_u64()))
                .collect();
            proptest::prop_assert_eq!(pool.size(), expected.len() as u64);
            match pool.nth(n) {
                Some((_, mac)) => proptest::prop_assert_eq!(mac.to_u64(), expected[n as usize]),
                None => proptest::prop_assert!(n >= expected.len() as u64),
            }
        }
    }
}
