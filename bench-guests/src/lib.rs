//! Three waPC guests that make the policy's two inventory calls and then do less, the same, or
//! more work than the policy with the payloads; `test-host bench` measures them beside the
//! policy on the same payloads:
//!
//! - `transfer`: receives the payloads and touches nothing. The engine's copy into guest
//!   memory: a floor no policy can beat.
//! - `parse`: reads the payloads with `serde_json` into `IgnoredAny`. The cost of looking at
//!   every byte once.
//! - `naive`: deserializes the Pods into full k8s-openapi `Pod` objects and the VMs into
//!   `serde_json::Value`, as a typical context-aware policy does.
//!
//! The same module is also a policy for policy-server (`make bench-engine`): its `validate`
//! makes the seed's `get_resource` (the `kube-system` Namespace, under `seed: ""`) and the two
//! inventory calls of the `inventory` mode its settings name, exactly as the policy sends them
//! (so it shares the policy's reflectors and cache), reads nothing of the lists and accepts:
//! the engine floor of those calls. With `inventory: none` it makes no call at all: a trivial
//! accepting policy.
//!
//! With `inventory: indexed` (behaviour.md section 7.1) it makes the four calls the policy makes
//! for a VM CREATE (or a Pod CREATE with a Multus network) whose MACs are all blank, on the
//! default range where all 256 blocks hold pool addresses: the spans of the object's block
//! (VMs by `mac-blocks.kubemacpool.io/<VM span>`, then Pods by their span), the VMs not indexed
//! yet, the tracked Pods not indexed yet. It reads of the request only what the block needs (kind, namespace, name or
//! generateName and uid) and the object it returns, nothing of the answers, and answers with a
//! mutated object of the policy's shape: the index labels added and a fixed MAC in the block on
//! every VM interface or Multus network element, so that policy-server's diff and patch cost
//! what they cost the policy. A Pod without a Multus annotation makes no call, as in the policy.

use k8s_openapi::api::core::v1::Pod;
use kubemacpool_policy::protocol::{
    self, INDEXED_LABEL, INDEXED_VALUE, Kind, LEGACY_POD_SELECTOR, LEGACY_VM_SELECTOR,
    NETWORKS_ANNOTATION, POD_LIST, TRACKED_LABEL, TRACKED_SELECTOR, TRACKED_VALUE, VM_LIST,
};
use kubemacpool_policy::settings::Settings;
use kubewarden_policy_sdk::protocol_version_guest;
use serde::de::IgnoredAny;
use serde_json::{Value, json};
use wapc_guest::{CallResult, register_function};

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    register_function("transfer", transfer);
    register_function("parse", parse);
    register_function("naive", naive);
    register_function("validate", validate);
    register_function("validate_settings", validate_settings);
    register_function("protocol_version", protocol_version_guest);
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct FloorSettings {
    inventory: String,
    seed: String,
}

#[derive(serde::Deserialize)]
struct FloorPayload {
    #[serde(default)]
    settings: FloorSettings,
    #[serde(default)]
    request: FloorRequest,
}

/// What the `indexed` floor reads of the admission request.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct FloorRequest {
    uid: String,
    namespace: String,
    kind: FloorKind,
    operation: String,
    object: Value,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct FloorKind {
    kind: String,
}

type Error = Box<dyn std::error::Error + Send + Sync>;

fn list(kind: &str, by_label: bool) -> Result<Vec<u8>, Error> {
    list_selected(kind, by_label.then_some(TRACKED_SELECTOR))
}

/// The list call as the policy sends it (the same request, so the same reflector).
fn list_selected(kind: &str, label_selector: Option<&str>) -> Result<Vec<u8>, Error> {
    let call = match kind {
        "VirtualMachine" => &VM_LIST,
        _ => &POD_LIST,
    };
    let request = call.request(label_selector);
    wapc_guest::host_call(
        "kubewarden",
        "kubernetes",
        "list_resources_all",
        &serde_json::to_vec(&request)?,
    )
}

/// The allocation seed as the policy derives it: the setting, or the `kube-system` uid read
/// with the policy's own request (behaviour.md section 6).
fn seed(setting: &str) -> Result<String, Error> {
    if !setting.is_empty() {
        return Ok(setting.to_string());
    }
    let namespace = wapc_guest::host_call(
        "kubewarden",
        "kubernetes",
        "get_resource",
        &serde_json::to_vec(&protocol::seed_request())?,
    )?;
    let namespace: Value = serde_json::from_slice(&namespace)?;
    Ok(namespace
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .ok_or("the kube-system Namespace has no uid")?
        .to_string())
}

/// The engine floor: the seed and the mode's two list calls (see the module comment), nothing
/// read of the lists.
fn validate(payload: &[u8]) -> CallResult {
    let payload: FloorPayload = serde_json::from_slice(payload)?;
    if payload.settings.inventory == "indexed" {
        return validate_indexed(payload.request, &payload.settings.seed);
    }
    if payload.settings.inventory != "none" {
        std::hint::black_box(seed(&payload.settings.seed)?);
    }
    let selects = match payload.settings.inventory.as_str() {
        "none" => None,
        "all" => Some((false, false)),
        "tracked" => Some((true, true)),
        _ => Some((false, true)),
    };
    if let Some((vms_by_label, pods_by_label)) = selects {
        let vms = list("VirtualMachine", vms_by_label)?;
        let pods = list("Pod", pods_by_label)?;
        std::hint::black_box((vms, pods));
    }
    Ok(br#"{"accepted":true}"#.to_vec())
}

/// The `indexed` floor (see the module comment).
fn validate_indexed(mut request: FloorRequest, seed_setting: &str) -> CallResult {
    let kind = request.kind.kind.as_str();
    let text = |value: &Value, key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let metadata = request
        .object
        .get("metadata")
        .cloned()
        .unwrap_or(Value::Null);
    let handled = request.operation == "CREATE"
        && match kind {
            "VirtualMachine" => true,
            "Pod" => metadata
                .get("annotations")
                .and_then(|a| a.get(NETWORKS_ANNOTATION))
                .is_some(),
            _ => false,
        };
    if !handled {
        return Ok(br#"{"accepted":true}"#.to_vec());
    }
    let namespace = if request.namespace.is_empty() {
        text(&metadata, "namespace")
    } else {
        request.namespace.clone()
    };
    let name = match text(&metadata, "name") {
        name if name.is_empty() => format!("{}{}", text(&metadata, "generateName"), request.uid),
        name => name,
    };
    // The object's block on the default range, as the policy computes it.
    let settings = Settings {
        seed: seed(seed_setting)?,
        ..Settings::default()
    };
    let kind_of = match kind {
        "VirtualMachine" => Kind::VirtualMachine,
        _ => Kind::Pod,
    };
    let block = protocol::object_block(&settings, kind_of, &namespace, &name)
        .ok_or("the default range has blocks")?;
    let span_label = protocol::span_label(kind_of, block);
    let answers = (
        list_selected(
            "VirtualMachine",
            Some(&protocol::span_label(Kind::VirtualMachine, block)),
        )?,
        list_selected("Pod", Some(&protocol::span_label(Kind::Pod, block)))?,
        list_selected("VirtualMachine", Some(LEGACY_VM_SELECTOR))?,
        list_selected("Pod", Some(LEGACY_POD_SELECTOR))?,
    );
    std::hint::black_box(answers);

    let object = &mut request.object;
    let mac = |n: usize| format!("02:00:00:00:{block:02x}:{:02x}", (n + 1) % 256);
    if kind == "VirtualMachine" {
        let interfaces = object
            .pointer_mut("/spec/template/spec/domain/devices/interfaces")
            .and_then(Value::as_array_mut);
        for (n, interface) in interfaces.into_iter().flatten().enumerate() {
            if let Some(interface) = interface.as_object_mut() {
                interface.insert("macAddress".into(), Value::String(mac(n)));
            }
        }
    } else if let Some(annotation) =
        object.pointer_mut("/metadata/annotations/k8s.v1.cni.cncf.io~1networks")
        && let Ok(Value::Array(mut elements)) =
            serde_json::from_str::<Value>(annotation.as_str().unwrap_or(""))
    {
        for (n, element) in elements.iter_mut().enumerate() {
            if let Some(element) = element.as_object_mut() {
                element.insert("mac".into(), Value::String(mac(n)));
            }
        }
        *annotation = Value::String(serde_json::to_string(&elements)?);
    }
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        let labels = metadata.entry("labels").or_insert_with(|| json!({}));
        if !labels.is_object() {
            *labels = json!({});
        }
        if let Some(labels) = labels.as_object_mut() {
            labels.insert(TRACKED_LABEL.into(), json!(TRACKED_VALUE));
            labels.insert(INDEXED_LABEL.into(), json!(INDEXED_VALUE));
            labels.insert(span_label, json!(""));
        }
    }
    Ok(serde_json::to_vec(
        &json!({"accepted": true, "mutated_object": object}),
    )?)
}

fn validate_settings(_: &[u8]) -> CallResult {
    Ok(br#"{"valid":true}"#.to_vec())
}

/// The two list calls, with the policy's requests.
fn inventory() -> Result<(Vec<u8>, Vec<u8>), Error> {
    Ok((
        list_selected("VirtualMachine", None)?,
        list_selected("Pod", None)?,
    ))
}

fn transfer(_: &[u8]) -> CallResult {
    let (vms, pods) = inventory()?;
    Ok(format!("{}", vms.len() + pods.len()).into_bytes())
}

fn parse(_: &[u8]) -> CallResult {
    let (vms, pods) = inventory()?;
    serde_json::from_slice::<IgnoredAny>(&vms)?;
    serde_json::from_slice::<IgnoredAny>(&pods)?;
    Ok(b"ok".to_vec())
}

#[derive(serde::Deserialize)]
struct List<T> {
    items: Vec<T>,
}

fn naive(_: &[u8]) -> CallResult {
    let (vms, pods) = inventory()?;
    let vms: List<Value> = serde_json::from_slice(&vms)?;
    let pods: List<Pod> = serde_json::from_slice(&pods)?;
    Ok(format!("{}", vms.items.len() + pods.items.len()).into_bytes())
}
