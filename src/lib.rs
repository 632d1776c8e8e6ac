//! kubemacpool-policy: Kubemacpool's collision-aware MAC allocation for Pods and KubeVirt
//! VirtualMachines, as a stateless, context-aware, mutating Kubewarden policy.
//!
//! This file is only the waPC entry (the default `guest` feature) and the crate's public face:
//! `evaluate`, the settings, the host seam and the verdict. Each rule of the behaviour lives in
//! the private module named after what it is about.

// Modules private to the policy. The `testing` feature opens them to the fuzz crate and the
// benches, which drive the parsers and the walk directly; nothing else may rely on them. (Two
// plain declarations each, not a macro: rustfmt follows only what it can read.)
#[cfg(feature = "testing")]
pub mod admission;
#[cfg(not(feature = "testing"))]
mod admission;
#[cfg(feature = "testing")]
pub mod allocation;
#[cfg(not(feature = "testing"))]
mod allocation;
#[cfg(feature = "testing")]
pub mod audit;
#[cfg(not(feature = "testing"))]
mod audit;
#[cfg(feature = "testing")]
pub mod index;
#[cfg(not(feature = "testing"))]
mod index;
#[cfg(feature = "testing")]
pub mod inventory;
#[cfg(not(feature = "testing"))]
mod inventory;
#[cfg(feature = "testing")]
pub mod keys;
#[cfg(not(feature = "testing"))]
mod keys;
#[cfg(feature = "testing")]
pub mod mac;
#[cfg(not(feature = "testing"))]
mod mac;
#[cfg(feature = "testing")]
pub mod object;
#[cfg(not(feature = "testing"))]
mod object;
#[cfg(feature = "testing")]
pub mod pod;
#[cfg(not(feature = "testing"))]
mod pod;
#[cfg(feature = "testing")]
pub mod verdict;
#[cfg(not(feature = "testing"))]
mod verdict;
#[cfg(feature = "testing")]
pub mod vm;
#[cfg(not(feature = "testing"))]
mod vm;

pub mod host;
pub mod protocol;
pub mod settings;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use mac::Mac;
pub use verdict::Verdict;

use kubewarden_policy_sdk::request::ValidationRequest;
use kubewarden_policy_sdk::response::ValidationResponse;

use crate::admission::Target;
use crate::settings::RawSettings;

#[cfg(feature = "guest")]
#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    use kubewarden_policy_sdk::protocol_version_guest;
    use wapc_guest::register_function;

    register_function("validate", validate);
    register_function("validate_settings", validate_settings);
    register_function("protocol_version", protocol_version_guest);
}

#[cfg(feature = "guest")]
fn validate(payload: &[u8]) -> wapc_guest::CallResult {
    Ok(serde_json::to_vec(&evaluate(
        payload,
        &host::KubewardenHost,
    ))?)
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

#[cfg(feature = "guest")]
fn validate_settings(payload: &[u8]) -> wapc_guest::CallResult {
    Ok(serde_json::to_vec(&settings::validate_settings_payload(
        payload,
    ))?)
}
