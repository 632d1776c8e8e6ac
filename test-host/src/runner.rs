//! Runs a policy the way kwctl does: waPC on wasmtime, `validate_settings` first, then
//! `validate`, host calls answered by a replay session.

use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};
use wapc::WapcHost;
use wasmtime_provider::{WasmtimeEngineProviderBuilder, WasmtimeEngineProviderPre};

use crate::response::{AdmissionResponse, ValidationResponse};
use crate::session::Replay;

/// What the guest may ask the host for.
pub enum HostAccess {
    /// `--allow-context-aware` was not given: every Kubernetes call is refused.
    Denied,
    Replay(Arc<Replay>),
}

/// Message of a Kubernetes host call made without `--allow-context-aware`.
pub const ACCESS_DENIED: &str =
    "Policy not authorized to access Kubernetes resources: run with --allow-context-aware";

/// A compiled policy, ready to be instantiated afresh for every evaluation, as
/// policy-server does.
pub struct Policy {
    pre: WasmtimeEngineProviderPre,
}

impl Policy {
    pub fn load(wasm: &[u8]) -> Result<Policy> {
        let pre = WasmtimeEngineProviderBuilder::new()
            .module_bytes(wasm)
            .build_pre()
            .map_err(|e| anyhow!("cannot load the policy: {e}"))?;
        Ok(Policy { pre })
    }

    /// A fresh instance whose host calls go to `access`.
    pub fn instantiate(&self, access: Arc<HostAccess>) -> Result<WapcHost> {
        let engine = self
            .pre
            .rehydrate(None)
            .map_err(|e| anyhow!("cannot instantiate the policy: {e}"))?;
        let callback =
            move |_id: u64, binding: &str, namespace: &str, operation: &str, payload: &[u8]| {
                if binding != "kubewarden" {
                    return Err(format!("unknown waPC binding {binding}").into());
                }
                match access.as_ref() {
                    HostAccess::Denied => Err(ACCESS_DENIED.into()),
                    HostAccess::Replay(replay) => replay
                        .answer(namespace, operation, payload)
                        .map_err(|e| e.into()),
                }
            };
        WapcHost::new(Box::new(engine), Some(Box::new(callback)))
            .map_err(|e| anyhow!("cannot start the policy: {e}"))
    }
}

/// Calls `validate_settings`; `Err` carries kwctl's message for invalid settings.
pub fn validate_settings(host: &WapcHost, settings: &Value) -> Result<()> {
    let raw = host
        .call("validate_settings", &serde_json::to_vec(settings)?)
        .map_err(|e| anyhow!("Provided settings are not valid: {e}"))?;
    let response: Value =
        serde_json::from_slice(&raw).context("validate_settings answered no JSON")?;
    if response.get("valid").and_then(Value::as_bool) == Some(true) {
        return Ok(());
    }
    let message = response
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("");
    bail!("Provided settings are not valid: {message}")
}

/// The AdmissionRequest inside `document`, which may be a whole AdmissionReview.
pub fn admission_request(document: Value) -> Result<Value> {
    match document {
        Value::Object(mut map)
            if map.get("kind").and_then(Value::as_str) == Some("AdmissionReview") =>
        {
            map.remove("request")
                .ok_or_else(|| anyhow!("the AdmissionReview has no request"))
        }
        Value::Object(map) => Ok(Value::Object(map)),
        _ => bail!("the request is not a JSON object"),
    }
}

/// Calls `validate` and builds kwctl's AdmissionResponse.
pub fn validate(host: &WapcHost, request: &Value, settings: &Value) -> Result<AdmissionResponse> {
    let payload = serde_json::to_vec(&json!({ "request": request, "settings": settings }))?;
    let raw = host
        .call("validate", &payload)
        .map_err(|e| anyhow!("the policy failed: {e}"))?;
    let response: ValidationResponse =
        serde_json::from_slice(&raw).context("validate answered no ValidationResponse")?;
    let uid = request.get("uid").and_then(Value::as_str).unwrap_or("");
    let object = request.get("object").cloned().unwrap_or(Value::Null);
    AdmissionResponse::from_validation(uid, &object, response)
}
