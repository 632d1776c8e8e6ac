//! Runs a policy the way kwctl does: waPC on wasmtime, `validate_settings` first, then
//! `validate`, each on a fresh instance, host calls answered by a replay session.

use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

use crate::engine::{Guest, HostFn};
use crate::response::{AdmissionResponse, ValidationResponse};
use crate::session::Replay;

/// What the guest may ask the host for.
pub enum HostAccess {
    /// `--allow-context-aware` was not given: every Kubernetes call is refused.
    Denied,
    Replay(Arc<Replay>),
}

/// kwctl's answer (policy-evaluator's host callback) to a Kubernetes host call made without
/// `--allow-context-aware`: the resource the call named, word for word.
pub fn access_denied(payload: &[u8]) -> String {
    let request: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    let field = |key: &str| {
        request
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    format!(
        "Policy has not been granted access to Kubernetes {}/{} resources. The violation has been reported.",
        field("api_version"),
        field("kind")
    )
}

/// A compiled policy, instantiated afresh for every evaluation, as policy-server does.
pub struct Policy {
    guest: Guest,
    access: Arc<HostAccess>,
}

impl Policy {
    pub fn load(wasm: &[u8], access: Arc<HostAccess>) -> Result<Policy> {
        let guest = Guest::compile(wasm, false).context("cannot load the policy")?;
        Ok(Policy { guest, access })
    }

    fn host(&self) -> HostFn {
        let access = self.access.clone();
        Box::new(move |binding, namespace, operation, payload| {
            if binding != "kubewarden" {
                return Err(format!("unknown binding: {binding}"));
            }
            match access.as_ref() {
                HostAccess::Denied => Err(access_denied(payload)),
                // policy-evaluator hands the guest a failed call as the Debug form of its
                // error (with RUST_BACKTRACE unset: the message alone) behind this prefix.
                HostAccess::Replay(replay) => replay
                    .answer(namespace, operation, payload)
                    .map(Arc::new)
                    .map_err(|e| format!("Callback evaluation failure: {e}")),
            }
        })
    }

    /// Calls the guest's `operation` on a fresh instance; `Err` carries the guest's error.
    fn call(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>> {
        Ok(self.guest.call(operation, payload, self.host())?.response)
    }
}

/// Calls `validate_settings`; `Err` carries kwctl's message for invalid settings.
pub fn validate_settings(policy: &Policy, settings: &Value) -> Result<()> {
    let raw = policy
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
pub fn validate(policy: &Policy, request: &Value, settings: &Value) -> Result<AdmissionResponse> {
    let payload = serde_json::to_vec(&json!({ "request": request, "settings": settings }))?;
    let raw = policy
        .call("validate", &payload)
        .map_err(|e| anyhow!("the policy failed: {e}"))?;
    let response: ValidationResponse =
        serde_json::from_slice(&raw).context("validate answered no ValidationResponse")?;
    let uid = request.get("uid").and_then(Value::as_str).unwrap_or("");
    let object = request.get("object").cloned().unwrap_or(Value::Null);
    AdmissionResponse::from_validation(uid, &object, response)
}
