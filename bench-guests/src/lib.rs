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

use k8s_openapi::api::core::v1::Pod;
use serde::de::IgnoredAny;
use serde_json::{Value, json};
use wapc_guest::{CallResult, register_function};

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    register_function("transfer", transfer);
    register_function("parse", parse);
    register_function("naive", naive);
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
