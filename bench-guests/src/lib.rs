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
//! makes the two inventory calls of the `inventory` mode its settings name, exactly as the
//! policy sends them (so it shares the policy's reflectors), reads nothing of the answers and
//! accepts: the engine floor of those calls. With `inventory: none` it makes no call at all:
//! a trivial accepting policy.

use k8s_openapi::api::core::v1::Pod;
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

const TRACKED_SELECTOR: &str = "kubemacpool.io/tracked=true";
const VM_MASKS: [&str; 3] = [
    "metadata",
    "spec.template.spec.domain.devices.interfaces",
    "spec.template.spec.networks",
];

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct FloorSettings {
    inventory: String,
}

#[derive(serde::Deserialize)]
struct FloorPayload {
    #[serde(default)]
    settings: FloorSettings,
}

fn list(kind: &str, by_label: bool) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    let (api_version, masks): (&str, &[&str]) = match kind {
        "VirtualMachine" => ("kubevirt.io/v1", &VM_MASKS),
        _ => ("v1", &["metadata"]),
    };
    let request = json!({
        "api_version": api_version, "kind": kind,
        "label_selector": by_label.then_some(TRACKED_SELECTOR),
        "field_selector": null, "field_masks": masks
    });
    wapc_guest::host_call(
        "kubewarden",
        "kubernetes",
        "list_resources_all",
        &serde_json::to_vec(&request)?,
    )
}

/// The engine floor: the mode's two list calls (see the module comment), nothing read.
fn validate(payload: &[u8]) -> CallResult {
    let payload: FloorPayload = serde_json::from_slice(payload)?;
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

fn validate_settings(_: &[u8]) -> CallResult {
    Ok(br#"{"valid":true}"#.to_vec())
}

/// The two list calls, with the policy's requests.
fn inventory() -> Result<(Vec<u8>, Vec<u8>), Box<dyn std::error::Error + Send + Sync>> {
    let vms = json!({
        "api_version": "kubevirt.io/v1", "kind": "VirtualMachine", "label_selector": null,
        "field_selector": null,
        "field_masks": ["metadata", "spec.template.spec.domain.devices.interfaces", "spec.template.spec.networks"]
    });
    let pods = json!({
        "api_version": "v1", "kind": "Pod", "label_selector": null, "field_selector": null,
        "field_masks": ["metadata"]
    });
    let call = |request: &Value| {
        wapc_guest::host_call(
            "kubewarden",
            "kubernetes",
            "list_resources_all",
            &serde_json::to_vec(request)?,
        )
    };
    Ok((call(&vms)?, call(&pods)?))
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
