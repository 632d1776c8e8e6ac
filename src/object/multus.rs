//! The Multus network-selection annotation: the JSON list and the comma-separated short form,
//! with Kubemacpool's error texts, and a writer that keeps every element, key, value and order
//! it read and only adds `mac`.

use std::fmt;

use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::mac::Mac;
use crate::object::metadata::Text;

const PREFIX: &str = "parsePodNetworkAnnotation";

/// Why the annotation cannot be read. `Display` is the message users see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    /// The annotation is the empty string.
    #[error(
        "{PREFIX}: pod annotation not having \"network\" as key, refer Multus README.md for the usage guide"
    )]
    Empty,
    /// A short-form element that is not `[namespace/]name[@interface]`.
    #[error("{PREFIX}: invalid network selection element \"{element}\": {reason}")]
    ShortForm {
        element: String,
        reason: &'static str,
    },
    /// The JSON form does not parse or has the wrong shape.
    #[error(
        "{PREFIX}: failed to parse pod Network Attachment Selection Annotation JSON format: {0}"
    )]
    Json(String),
}

/// The short form is any value without the characters that start JSON.
pub fn is_short_form(value: &str) -> bool {
    !value.contains(['[', '{', '"'])
}

/// The attachment an element names: two elements with the same key attach the Pod to the
/// same network through the same interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ElementKey<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub interface: &'a str,
}

/// A parsed network-selection list: one JSON object per attachment, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    elements: Vec<Map<String, Value>>,
}

impl Selection {
    /// Reads the annotation value: the JSON list, or the short form rewritten as one.
    pub fn parse(value: &str) -> Result<Selection, SelectionError> {
        if value.is_empty() {
            Err(SelectionError::Empty)
        } else if is_short_form(value) {
            parse_short_form(value)
        } else {
            parse_json(value)
        }
    }

    /// How many elements the selection has.
    pub fn count(&self) -> usize {
        self.elements.len()
    }

    /// The `mac` of element `index` as written, when present and not empty.
    pub fn mac(&self, index: usize) -> Option<&str> {
        self.elements[index]
            .get("mac")
            .and_then(Value::as_str)
            .filter(|mac| !mac.is_empty())
    }

    /// The name the allocation hash uses for element `index`: its interface when given,
    /// otherwise its `[namespace/]name`.
    pub fn hash_name(&self, index: usize) -> String {
        let element = &self.elements[index];
        let text = |key| element.get(key).and_then(Value::as_str).unwrap_or("");
        match (text("interface"), text("namespace")) {
            ("", "") => text("name").to_string(),
            ("", namespace) => format!("{namespace}/{}", text("name")),
            (interface, _) => interface.to_string(),
        }
    }

    /// Element `index` as warnings and collision reports name it: `interface net1` when the
    /// pod names its interface, otherwise `network [namespace/]name`.
    pub fn place(&self, index: usize) -> String {
        let interface = self.elements[index]
            .get("interface")
            .and_then(Value::as_str);
        match interface {
            Some(interface) if !interface.is_empty() => format!("interface {interface}"),
            _ => format!("network {}", self.hash_name(index)),
        }
    }

    /// What matches element `index` to an element of another value of the same annotation
    /// (behaviour.md 4.1 step 3): its namespace (`namespace`, the Pod's, when it names none),
    /// its name, and its interface (`""` when it names none).
    pub fn key<'a>(&'a self, index: usize, namespace: &'a str) -> ElementKey<'a> {
        let element = &self.elements[index];
        let text = |key| element.get(key).and_then(Value::as_str).unwrap_or("");
        ElementKey {
            namespace: Some(text("namespace"))
                .filter(|n| !n.is_empty())
                .unwrap_or(namespace),
            name: text("name"),
            interface: text("interface"),
        }
    }

    /// Writes `mac` on element `index` exactly as given: a MAC restored on UPDATE keeps the
    /// spelling its owner wrote.
    pub fn set_mac_text(&mut self, index: usize, mac: &str) {
        self.elements[index].insert("mac".to_string(), Value::String(mac.to_string()));
    }

    /// The annotation value: compact JSON, elements and keys in the order they were read.
    pub fn to_annotation(&self) -> String {
        // Serialising maps of JSON values cannot fail.
        serde_json::to_string(&self.elements).unwrap_or_default()
    }
}

fn short_form_element(element: &str) -> Result<Map<String, Value>, &'static str> {
    if element.is_empty() {
        return Err("empty element");
    }
    if element.matches('@').count() > 1 {
        return Err("more than one \"@\"");
    }
    if element.matches('/').count() > 1 {
        return Err("more than one \"/\"");
    }
    let (target, interface) = match element.split_once('@') {
        Some((target, interface)) => (target, Some(interface)),
        None => (element, None),
    };
    let (namespace, name) = match target.split_once('/') {
        Some((namespace, name)) => (Some(namespace), name),
        None => (None, target),
    };
    if name.is_empty() {
        return Err("empty network name");
    }
    if namespace == Some("") {
        return Err("empty namespace");
    }
    if interface == Some("") {
        return Err("empty interface name");
    }
    let mut object = Map::new();
    object.insert("name".into(), name.into());
    if let Some(namespace) = namespace {
        object.insert("namespace".into(), namespace.into());
    }
    if let Some(interface) = interface {
        object.insert("interface".into(), interface.into());
    }
    Ok(object)
}

/// `[namespace/]name[@interface]`, comma separated, blanks around elements trimmed.
fn parse_short_form(value: &str) -> Result<Selection, SelectionError> {
    let elements = value
        .split(',')
        .map(str::trim)
        .map(|element| {
            short_form_element(element).map_err(|reason| SelectionError::ShortForm {
                element: element.to_string(),
                reason,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Selection { elements })
}

/// Checks one JSON element's known keys: `name` a string, `namespace`, `interface` and `mac`
/// strings, `ips` a list of strings. `null` counts as absent for the optional keys, as Go's
/// decoder reads it.
fn check_element(index: usize, element: &Map<String, Value>) -> Result<(), String> {
    match element.get("name") {
        Some(Value::String(_)) => {}
        None => return Err(format!("element {index}: \"name\" is missing")),
        Some(_) => return Err(format!("element {index}: \"name\" must be a string")),
    }
    for key in ["namespace", "interface", "mac"] {
        if let Some(value) = element.get(key).filter(|v| !v.is_null())
            && !value.is_string()
        {
            return Err(format!("element {index}: \"{key}\" must be a string"));
        }
    }
    match element.get("ips") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(ips)) if ips.iter().all(Value::is_string) => Ok(()),
        Some(_) => Err(format!(
            "element {index}: \"ips\" must be an array of strings"
        )),
    }
}

fn parse_json(value: &str) -> Result<Selection, SelectionError> {
    let parsed: Value =
        serde_json::from_str(value).map_err(|e| SelectionError::Json(e.to_string()))?;
    let Value::Array(items) = parsed else {
        return Err(SelectionError::Json(
            "expected a JSON array of network selection elements".to_string(),
        ));
    };
    let elements = items
        .into_iter()
        .enumerate()
        .map(|(index, item)| match item {
            Value::Object(element) => check_element(index, &element).map(|()| element),
            _ => Err(format!("element {index} is not a JSON object")),
        })
        .collect::<Result<_, _>>()
        .map_err(SelectionError::Json)?;
    Ok(Selection { elements })
}

/// The MACs a pod holds: every parsable `mac` of its JSON-form annotation. Anything that does
/// not read is skipped: another object's bad data never fails this admission.
pub fn held_macs(value: &str) -> impl Iterator<Item = Mac> + use<> {
    let held = if is_short_form(value) {
        HeldMacs::default()
    } else {
        serde_json::from_str(value).unwrap_or_default()
    };
    held.0.into_iter()
}

/// A JSON list of elements read only for their `mac`, without keeping the elements: the
/// inventory reads one per pod that carries the annotation.
#[derive(Default)]
struct HeldMacs(Vec<Mac>);

impl<'de> Deserialize<'de> for HeldMacs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct MacOnly<'a> {
            #[serde(borrow, default)]
            mac: Option<Text<'a>>,
        }

        struct ListVisitor;

        impl<'de> Visitor<'de> for ListVisitor {
            type Value = HeldMacs;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of network selection elements")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<HeldMacs, A::Error> {
                let mut macs = Vec::new();
                while let Some(element) = seq.next_element::<MacOnly<'de>>()? {
                    macs.extend(element.mac.and_then(|mac| Mac::parse(&mac).ok()));
                }
                Ok(HeldMacs(macs))
            }
        }

        deserializer.deserialize_seq(ListVisitor)
    }
}
