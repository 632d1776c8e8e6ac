//! kubemacpool-policy: Kubemacpool's collision-aware MAC allocation for Pods and KubeVirt
//! VirtualMachines, as a stateless, context-aware, mutating Kubewarden policy.
//!
//! This file is only the waPC entry (the default `guest` feature) and the crate's public face:
//! `evaluate`, the settings, the host seam and the verdict. Each rule of the behaviour lives in
//! the private module named after what it is about.

// The modules behind the public face (internals.rs), private unless the `testing` feature opens
// them; each is named at the crate root either way.
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod internals;
#[cfg(not(feature = "testing"))]
mod internals;
#[cfg(feature = "testing")]
pub use internals::{
    admission, allocation, audit, index, inventory, keys, mac, object, pod, verdict, vm,
};
#[cfg(not(feature = "testing"))]
use internals::{
    admission, allocation, audit, index, inventory, keys, mac, object, pod, verdict, vm,
};

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
