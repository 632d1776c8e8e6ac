//! The one seam between the policy and the Kubewarden host's Kubernetes capabilities. The
//! policy builds its requests with the SDK's types and hands raw responses to its own lean
//! parsers; tests, benches and fuzzers swap the host for the doubles of `testing`.

use kubewarden_policy_sdk::host_capabilities::kubernetes::{
    GetResourceRequest, ListAllResourcesRequest,
};

/// The host calls the policy makes.
pub trait Cluster {
    /// `kubernetes/list_resources_all`: the raw Kubernetes List.
    fn list_resources_all(&self, request: &ListAllResourcesRequest) -> Result<Vec<u8>, HostError>;
    /// `kubernetes/get_resource`: the raw object.
    fn get_resource(&self, request: &GetResourceRequest) -> Result<Vec<u8>, HostError>;
}

/// A host call that failed. `Display` is the host's own text, which messages quote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// `get_resource` of an object that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Any other failure: RBAC, the API server, the connection.
    #[error("{0}")]
    Failed(String),
}

/// How the host reports an object that does not exist. policy-server and kwctl 1.35 give no
/// status code to a guest, only this text (`Cannot find kubevirt.io/v1/VirtualMachine named
/// 'x' inside of namespace 'Some("ns")'`), so this seam reads it, and nothing past it does.
const NOT_FOUND_PREFIX: &str = "Cannot find ";

impl HostError {
    /// The error the host's text `text` reports.
    pub fn from_host(text: String) -> HostError {
        if text.contains(NOT_FOUND_PREFIX) {
            HostError::NotFound(text)
        } else {
            HostError::Failed(text)
        }
    }
}

/// The Kubewarden host, through waPC.
#[cfg(feature = "guest")]
pub struct KubewardenHost;

#[cfg(feature = "guest")]
impl KubewardenHost {
    fn call(operation: &str, request: &impl serde::Serialize) -> Result<Vec<u8>, HostError> {
        let payload = serde_json::to_vec(request).map_err(|e| HostError::Failed(e.to_string()))?;
        wapc_guest::host_call("kubewarden", "kubernetes", operation, &payload)
            .map_err(|e| HostError::from_host(e.to_string()))
    }
}

#[cfg(feature = "guest")]
impl Cluster for KubewardenHost {
    fn list_resources_all(&self, request: &ListAllResourcesRequest) -> Result<Vec<u8>, HostError> {
        Self::call("list_resources_all", request)
    }

    fn get_resource(&self, request: &GetResourceRequest) -> Result<Vec<u8>, HostError> {
        Self::call("get_resource", request)
    }
}
