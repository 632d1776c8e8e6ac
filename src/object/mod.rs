//! What every handler reads of the admitted object and its request: the operation, the
//! namespace, the name the allocation hash uses, and the tracking label it writes.

pub mod metadata;
pub mod multus;
pub mod owner;
pub mod vm;

use kubewarden_policy_sdk::request::KubernetesAdmissionRequest;

/// The operations the policy acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
}

/// The namespace of the admitted object: the request's, which the API server always fills,
/// or the object's own for requests that lack it.
pub fn namespace_of<'a>(
    request: &'a KubernetesAdmissionRequest,
    metadata_namespace: &'a str,
) -> &'a str {
    if request.namespace.is_empty() {
        metadata_namespace
    } else {
        &request.namespace
    }
}

/// The name the allocation hash uses: the object's name, or for an object created with
/// `generateName` only, that prefix followed by the request uid (unique per request, and the
/// same when the same request is evaluated again).
pub fn hash_name(request: &KubernetesAdmissionRequest, name: &str, generate_name: &str) -> String {
    if name.is_empty() {
        format!("{generate_name}{}", request.uid)
    } else {
        name.to_string()
    }
}
