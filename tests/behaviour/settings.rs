//! behaviour.md section 2: keys, defaults and every validation message.

use kubemacpool_policy::inventory::{POD_LIST, VM_LIST};
use kubemacpool_policy::settings::{
    AuditDuplicates, DuplicateMacs, InventoryMode, PodShortForm, RawSettings, Settings,
    validate_settings_payload,
};
use rstest::rstest;

fn validate(json: &str) -> Result<Settings, String> {
    RawSettings::from_json(json.as_bytes())
        .and_then(|raw| raw.parse())
        .map_err(|e| e.to_string())
}

#[test]
fn the_defaults_are_valid_and_documented() {
    let settings = validate("{}").unwrap();
    assert_eq!(settings.range_start.to_string(), "02:00:00:00:00:00");
    assert_eq!(settings.range_end.to_string(), "02:ff:ff:ff:ff:ff");
    assert!(settings.excluded.is_empty());
    assert_eq!(settings.duplicate_macs, DuplicateMacs::Warn);
    assert_eq!(settings.inventory, InventoryMode::Indexed);
    assert_eq!(settings.audit_duplicates, AuditDuplicates::Report);
    assert_eq!(settings.pod_short_form, PodShortForm::Convert);
    assert_eq!(settings.seed, "");
    assert_eq!(settings, Settings::default());
}

#[test]
fn null_settings_mean_the_defaults() {
    assert_eq!(validate("null").unwrap(), Settings::default());
}

#[test]
fn every_key_is_read() {
    let settings = validate(
        r#"{"rangeStart":"0a:00:00:00:00:00","rangeEnd":"0a:00:00:00:ff:ff",
            "excludedMacs":["0a:00:00:00:00:00","0a:00:00:00:00:10-0a:00:00:00:00:1f"],
            "duplicateMacs":"reject","inventory":"tracked","auditDuplicates":"ignore",
            "podShortForm":"ignore","seed":"cluster-a"}"#,
    )
    .unwrap();
    assert_eq!(settings.pool.size(), 0x1_0000 - 1 - 16);
    assert_eq!(settings.duplicate_macs, DuplicateMacs::Reject);
    assert_eq!(settings.inventory, InventoryMode::Tracked);
    assert_eq!(settings.audit_duplicates, AuditDuplicates::Ignore);
    assert_eq!(settings.pod_short_form, PodShortForm::Ignore);
    assert_eq!(settings.seed, "cluster-a");
}

#[rstest]
#[case::start_not_a_mac(
    r#"{"rangeStart":"zz"}"#,
    "invalid range start: address zz: invalid MAC address"
)]
#[case::end_not_a_mac(
    r#"{"rangeEnd":"02:00:00:00:00"}"#,
    "invalid range end: address 02:00:00:00:00: invalid MAC address"
)]
#[case::start_eui64(
    r#"{"rangeStart":"02:00:00:00:00:00:00:00"}"#,
    "invalid range start: address 02:00:00:00:00:00:00:00: invalid MAC address"
)]
#[case::start_multicast(
    r#"{"rangeStart":"03:00:00:00:00:00","rangeEnd":"04:00:00:00:00:00"}"#,
    "invalid range start: invalid mac address. Multicast addressing is not supported. Unicast addressing must be used. The first octet is 0X3"
)]
#[case::end_multicast(
    r#"{"rangeEnd":"ff:ff:ff:ff:ff:ff"}"#,
    "invalid range end: invalid mac address. Multicast addressing is not supported. Unicast addressing must be used. The first octet is 0XFF"
)]
#[case::start_equals_end(
    r#"{"rangeStart":"02:00:00:00:00:10","rangeEnd":"02:00:00:00:00:10"}"#,
    "invalid range. rangeStart: 02:00:00:00:00:10 rangeEnd: 02:00:00:00:00:10"
)]
#[case::start_above_end(
    r#"{"rangeStart":"0A:00:00:00:00:00","rangeEnd":"02:00:00:00:00:00"}"#,
    "invalid range. rangeStart: 0a:00:00:00:00:00 rangeEnd: 02:00:00:00:00:00"
)]
#[case::excluded_not_a_mac(
    r#"{"excludedMacs":["02:00:00:00:00:01","gateway"]}"#,
    "invalid excludedMacs entry \"gateway\": address gateway: invalid MAC address (expected a MAC or a MAC-MAC range)"
)]
#[case::excluded_reversed(
    r#"{"excludedMacs":["02:00:00:00:00:09-02:00:00:00:00:01"]}"#,
    "invalid excludedMacs entry \"02:00:00:00:00:09-02:00:00:00:00:01\": range 02:00:00:00:00:09-02:00:00:00:00:01 ends before it starts"
)]
#[case::duplicate_macs_value(
    r#"{"duplicateMacs":"fail"}"#,
    "invalid duplicateMacs value \"fail\": expected one of warn, reject, allow"
)]
#[case::inventory_value(
    r#"{"inventory":"labelled"}"#,
    "invalid inventory value \"labelled\": expected one of indexed, pods-tracked, all, tracked"
)]
#[case::audit_duplicates_value(
    r#"{"auditDuplicates":"warn"}"#,
    "invalid auditDuplicates value \"warn\": expected one of report, ignore"
)]
#[case::pod_short_form_value(
    r#"{"podShortForm":"Convert"}"#,
    "invalid podShortForm value \"Convert\": expected one of convert, ignore"
)]
#[case::unknown_key(
    r#"{"rangestart":"02:00:00:00:00:00"}"#,
    "invalid settings: unknown field `rangestart`, expected one of `rangeStart`, `rangeEnd`, `excludedMacs`, `duplicateMacs`, `inventory`, `auditDuplicates`, `podShortForm`, `seed` at line 1 column 13"
)]
#[case::wrong_type(
    r#"{"excludedMacs":"02:00:00:00:00:01"}"#,
    "invalid settings: excludedMacs: invalid type: string \"02:00:00:00:00:01\", expected a sequence at line 1 column 35"
)]
#[case::a_list(r#"[]"#, "invalid settings: settings must be a JSON object")]
#[case::a_string(r#""warn""#, "invalid settings: settings must be a JSON object")]
fn invalid_settings_are_refused_with_a_message(#[case] json: &str, #[case] message: &str) {
    assert_eq!(validate(json).unwrap_err(), message);
}

#[test]
fn validate_settings_answers_valid_false_with_the_message() {
    let response = validate_settings_payload(br#"{"duplicateMacs":"nope"}"#);
    assert!(!response.valid);
    assert_eq!(
        response.message.as_deref(),
        Some("invalid duplicateMacs value \"nope\": expected one of warn, reject, allow")
    );
    let response = validate_settings_payload(b"{}");
    assert!(response.valid);
    assert_eq!(response.message, None);
}

#[rstest]
#[case::pods_tracked("pods-tracked", InventoryMode::PodsTracked, false, true)]
#[case::all("all", InventoryMode::All, false, false)]
#[case::tracked("tracked", InventoryMode::Tracked, true, true)]
fn each_inventory_mode_selects_by_label_what_behaviour_md_says(
    #[case] value: &str,
    #[case] mode: InventoryMode,
    #[case] vms_by_label: bool,
    #[case] pods_by_label: bool,
) {
    let settings = validate(&format!(r#"{{"inventory":"{value}"}}"#)).unwrap();
    assert_eq!(settings.inventory, mode);
    assert_eq!(VM_LIST.mode_selector(mode).is_some(), vms_by_label);
    assert_eq!(POD_LIST.mode_selector(mode).is_some(), pods_by_label);
}
