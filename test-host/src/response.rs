//! The one-line AdmissionResponse kwctl prints, built from the policy's ValidationResponse.

use anyhow::{Context, Result};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the guest's `validate` returns.
#[derive(Debug, Deserialize)]
pub struct ValidationResponse {
    pub accepted: bool,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub code: Option<u16>,
    #[serde(default)]
    pub mutated_object: Option<Value>,
    #[serde(default)]
    pub audit_annotations: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Status {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
}

/// kwctl's AdmissionResponse, field for field and in kwctl's order (policy-evaluator 1.35).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    pub uid: String,
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// kwctl prints these two even when null.
    pub audit_annotations: Option<serde_json::Map<String, Value>>,
    pub warnings: Option<Vec<String>>,
}

impl AdmissionResponse {
    /// As policy-evaluator does: the mutated object becomes an RFC 6902 patch against the
    /// request's object (none when the diff is empty), base64-encoded.
    pub fn from_validation(
        uid: &str,
        object: &Value,
        response: ValidationResponse,
    ) -> Result<Self> {
        let patch = match &response.mutated_object {
            Some(mutated) if response.accepted => {
                let patch = json_patch::diff(object, mutated);
                if patch.0.is_empty() {
                    None
                } else {
                    let json = serde_json::to_vec(&patch).context("serialising the JSON patch")?;
                    Some(base64::engine::general_purpose::STANDARD.encode(json))
                }
            }
            _ => None,
        };
        let status = (response.message.is_some() || response.code.is_some()).then_some(Status {
            message: response.message,
            code: response.code,
        });
        Ok(AdmissionResponse {
            uid: uid.to_string(),
            allowed: response.accepted,
            patch_type: patch.as_ref().map(|_| "JSONPatch".to_string()),
            patch,
            status,
            audit_annotations: response.audit_annotations,
            warnings: response.warnings,
        })
    }
}
