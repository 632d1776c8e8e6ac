//! behaviour.md section 3: MAC spellings, normal form, multicast bit.

use kubemacpool_policy::mac::Mac;
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
