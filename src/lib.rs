//! kubemacpool-policy: Kubemacpool's collision-aware MAC allocation for Pods and KubeVirt
//! VirtualMachines, as a stateless, context-aware, mutating Kubewarden policy.
//!
//! This file is only the waPC entry; each rule of the behaviour lives in the module named
//! after what it is about.

pub mod admission;
pub mod allocation;
pub mod audit;
pub mod host;
pub mod index;
pub mod inventory;
pub mod keys;
pub mod mac;
pub mod object;
pub mod pod;
pub mod settings;
pub mod verdict;
pub mod vm;

use kubewarden_policy_sdk::protocol_version_guest;
use kubewarden_policy_sdk::request::ValidationRequest;
use kubewarden_policy_sdk::response::ValidationResponse;
use wapc_guest::{CallResult, register_function};

use crate::admission::Target;
use crate::host::KubewardenHost;
use crate::settings::{RawSettings, validate_settings_payload};
use crate::verdict::Verdict;

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    register_function("validate", validate);
    register_function("validate_settings", validate_settings);
    register_function("protocol_version", protocol_version_guest);
}

fn validate(payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(&evaluate(payload, &KubewardenHost))?)
}

/// One evaluation of `validate`, with the host calls going to `cluster`.
pub fn evaluate(payload: &[u8], cluster: &impl host::Cluster) -> ValidationResponse {
    let verdict = match ValidationRequest::<RawSettings>::new(payload) {
        Err(e) => Verdict::Reject {
            message: format!("cannot read the admission request: {e}"),
            code: 400,
        },
        Ok(request) => match request.settings.parse() {
            Err(e) => Verdict::Reject {
                message: e.to_string(),
                code: 400,
            },
            Ok(settings) => match admission::Request::read(&request.request, &settings) {
                None => Verdict::accept(),
                Some(handled) => match handled.target {
                    Target::Pod => pod::handle(&handled, &settings, cluster),
                    Target::VirtualMachine => vm::handle(&handled, &settings, cluster),
                },
            },
        },
    };
    verdict.into_response()
}

fn validate_settings(payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(&validate_settings_payload(payload))?)
}
