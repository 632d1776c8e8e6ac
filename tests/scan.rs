//! The structural scan that finds each inventory item without parsing it.

use kubemacpool_policy::inventory::scan::list_items;
use rstest::rstest;

fn items(payload: &str) -> Result<Vec<&str>, String> {
    let mut found = Vec::new();
    list_items(payload.as_bytes(), |range| found.push(&payload[range]))
        .map_err(|e| e.to_string())?;
    Ok(found)
}

#[test]
fn every_item_is_found_whole_whatever_it_holds() {
    let payload = r#"{"apiVersion":"v1","kind":"PodList","metadata":{"x":[1,{"y":"]}"}]},"items":[{"a":"b\"}]","c":[{},[]]},"str",12.5e3,null,true,[1,[2]]],"tail":{}}"#;
    assert_eq!(
        items(payload).unwrap(),
        [
            r#"{"a":"b\"}]","c":[{},[]]}"#,
            r#""str""#,
            "12.5e3",
            "null",
            "true",
            "[1,[2]]"
        ]
    );
}

#[test]
fn blanks_between_tokens_are_allowed() {
    assert_eq!(
        items(" { \"items\" : [ {\"a\" : 1} ,\n\t2 ] } ").unwrap(),
        [r#"{"a" : 1}"#, "2"]
    );
}

#[rstest]
#[case::no_items(r#"{"kind":"List"}"#)]
#[case::null_items(r#"{"items":null}"#)]
#[case::empty_items(r#"{"items":[]}"#)]
#[case::empty_object("{}")]
fn a_list_without_items_has_none(#[case] payload: &str) {
    assert_eq!(items(payload).unwrap(), Vec::<&str>::new());
}

#[rstest]
#[case::not_json("<html>")]
#[case::an_array("[]")]
#[case::truncated_item(r#"{"items":[{"a":"b"#)]
#[case::truncated_list(r#"{"items":[{"a":1}"#)]
#[case::trailing_backslash(r#"{"items":["\"#)]
#[case::missing_colon(r#"{"items" [1]}"#)]
#[case::empty("")]
fn a_payload_that_is_not_a_list_is_an_error(#[case] payload: &str) {
    assert!(items(payload).is_err(), "{payload}");
}

proptest::proptest! {
    /// Whatever the bytes, the scan ends without panicking.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
        let _ = list_items(&bytes, |_| {});
    }

    /// For any JSON list, the items the scan finds parse to the items serde finds.
    #[test]
    fn the_scan_agrees_with_serde(values in proptest::collection::vec(arbitrary_json(), 0..8)) {
        let payload = serde_json::json!({ "kind": "List", "items": values }).to_string();
        let mut found = Vec::new();
        list_items(payload.as_bytes(), |range| {
            found.push(serde_json::from_str::<serde_json::Value>(&payload[range]).unwrap())
        }).unwrap();
        proptest::prop_assert_eq!(found, values);
    }
}

fn arbitrary_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[\\PC\"\\\\\\[\\]{}]{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map("[a-z\"\\]]{0,4}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
