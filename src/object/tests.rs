//! Table and property tests of the Multus annotation (behaviour.md section 4), kept apart from the code.

/// behaviour.md section 4, steps 3 to 5 and 8: reading and writing the Multus annotation.
mod multus {

    use crate::object::multus::{Selection, held_macs};
    use rstest::rstest;

    const JSON_PREFIX: &str = "parsePodNetworkAnnotation: failed to parse pod Network Attachment Selection Annotation JSON format: ";

    #[test]
    fn the_empty_value_is_refused_with_kubemacpools_text() {
        assert_eq!(
            Selection::parse("").unwrap_err().to_string(),
            "parsePodNetworkAnnotation: pod annotation not having \"network\" as key, refer Multus README.md for the usage guide"
        );
    }

    #[rstest]
    #[case::name_only("blue", r#"[{"name":"blue"}]"#)]
    #[case::namespace("team/blue", r#"[{"name":"blue","namespace":"team"}]"#)]
    #[case::interface("blue@eth1", r#"[{"name":"blue","interface":"eth1"}]"#)]
    #[case::both(
        "team/blue@eth1",
        r#"[{"name":"blue","namespace":"team","interface":"eth1"}]"#
    )]
    #[case::several_with_blanks(
    " blue , team/red@net2,green ",
    r#"[{"name":"blue"},{"name":"red","namespace":"team","interface":"net2"},{"name":"green"}]"#
)]
    fn the_short_form_becomes_the_equivalent_json_list(#[case] short: &str, #[case] json: &str) {
        assert_eq!(Selection::parse(short).unwrap().to_annotation(), json);
    }

    #[rstest]
    #[case::empty_element("blue,,red", "", "empty element")]
    #[case::trailing_comma("blue,", "", "empty element")]
    #[case::two_slashes("a/b/c", "a/b/c", "more than one \"/\"")]
    #[case::two_ats("blue@eth1@eth2", "blue@eth1@eth2", "more than one \"@\"")]
    #[case::empty_name("team/@eth1", "team/@eth1", "empty network name")]
    #[case::empty_namespace("/blue", "/blue", "empty namespace")]
    #[case::empty_interface("blue@", "blue@", "empty interface name")]
    fn a_malformed_short_form_element_is_quoted(
        #[case] value: &str,
        #[case] element: &str,
        #[case] reason: &str,
    ) {
        assert_eq!(
            Selection::parse(value).unwrap_err().to_string(),
            format!(
                "parsePodNetworkAnnotation: invalid network selection element \"{element}\": {reason}"
            )
        );
    }

    #[rstest]
    #[case::not_json("[{", "EOF while parsing an object at line 1 column 2")]
    #[case::an_object(
        r#"{"name":"blue"}"#,
        "expected a JSON array of network selection elements"
    )]
    #[case::a_string_element(r#"["blue"]"#, "element 0 is not a JSON object")]
    #[case::missing_name(r#"[{"interface":"eth1"}]"#, "element 0: \"name\" is missing")]
    #[case::non_string_name(r#"[{"name":7}]"#, "element 0: \"name\" must be a string")]
    #[case::non_string_namespace(
        r#"[{"name":"a","namespace":["x"]}]"#,
        "element 0: \"namespace\" must be a string"
    )]
    #[case::non_string_interface(
        r#"[{"name":"a"},{"name":"b","interface":1}]"#,
        "element 1: \"interface\" must be a string"
    )]
    #[case::non_string_mac(r#"[{"name":"a","mac":true}]"#, "element 0: \"mac\" must be a string")]
    #[case::ips_a_string(
        r#"[{"name":"a","ips":"10.0.0.1"}]"#,
        "element 0: \"ips\" must be an array of strings"
    )]
    #[case::ips_numbers(
        r#"[{"name":"a","ips":[10]}]"#,
        "element 0: \"ips\" must be an array of strings"
    )]
    fn malformed_json_is_refused_with_kubemacpools_prefix(
        #[case] value: &str,
        #[case] detail: &str,
    ) {
        assert_eq!(
            Selection::parse(value).unwrap_err().to_string(),
            format!("{JSON_PREFIX}{detail}")
        );
    }

    #[test]
    fn null_optional_keys_count_as_absent_as_go_reads_them() {
        let selection =
            Selection::parse(r#"[{"name":"a","mac":null,"ips":null,"interface":null}]"#).unwrap();
        assert_eq!(selection.mac(0), None);
    }

    #[test]
    fn unknown_keys_and_key_order_are_kept_byte_for_byte_and_mac_is_appended() {
        let value = r#"[{"interface":"net1","ipam-claim-reference":{"name":"c1"},"name":"blue","cni-args":{"x":[1,2,{"y":null}]},"namespace":"team"},{"name":"red","mac":"02:00:00:00:00:09","default-route":["10.0.0.1"]}]"#;
        let mut selection = Selection::parse(value).unwrap();
        selection.set_mac_text(0, "02:00:00:00:00:01");
        assert_eq!(
            selection.to_annotation(),
            r#"[{"interface":"net1","ipam-claim-reference":{"name":"c1"},"name":"blue","cni-args":{"x":[1,2,{"y":null}]},"namespace":"team","mac":"02:00:00:00:00:01"},{"name":"red","mac":"02:00:00:00:00:09","default-route":["10.0.0.1"]}]"#
        );
    }

    #[test]
    fn an_empty_mac_is_filled_in_place() {
        let mut selection = Selection::parse(r#"[{"mac":"","name":"blue"}]"#).unwrap();
        assert_eq!(selection.mac(0), None);
        selection.set_mac_text(0, "02:00:00:00:00:01");
        assert_eq!(
            selection.to_annotation(),
            r#"[{"mac":"02:00:00:00:00:01","name":"blue"}]"#
        );
    }

    #[test]
    fn a_pod_holds_every_parsable_mac_of_its_json_annotation() {
        let held: Vec<String> = held_macs(
        r#"[{"name":"a","mac":"02:00:00:00:00:01"},{"name":"b"},{"name":"c","mac":"bogus"},{"name":"d","mac":"02-00-00-00-00-02"}]"#,
    )
    .map(|m| m.to_string())
    .collect();
        assert_eq!(held, ["02:00:00:00:00:01", "02:00:00:00:00:02"]);
        assert_eq!(held_macs("blue,red").count(), 0);
        assert_eq!(held_macs("[not json").count(), 0);
    }

    /// Found by the multus fuzz target: without exact float parsing, a float in an unknown key
    /// could come back one unit in the last place off after the annotation was rewritten.
    #[test]
    fn a_float_in_an_unknown_key_survives_the_rewrite_exactly() {
        let value = r#"[{"name":"blue","x":1.6666666666666263e+36,"y":0.1}]"#;
        let mut selection = crate::object::multus::Selection::parse(value).unwrap();
        selection.set_mac_text(0, &crate::mac::Mac::from_u64(0x0200_0000_0001).to_string());
        let written = selection.to_annotation();
        let again = crate::object::multus::Selection::parse(&written).unwrap();
        assert_eq!(again, selection);
        let parsed: serde_json::Value = serde_json::from_str(&written).unwrap();
        assert_eq!(parsed[0]["x"].as_f64(), Some(1.6666666666666263e36));
    }
}
