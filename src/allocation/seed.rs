//! The allocation seed (behaviour.md section 6): the `seed` setting, or, when it is empty, the
//! uid of the cluster's `kube-system` Namespace. A deterministic hash with a constant seed would
//! give an object of the same name the same MAC in every cluster, and clusters that share an L2
//! segment often run the same manifests; the uid differs per cluster and never changes.

use kubewarden_policy_sdk::host_capabilities::kubernetes::GetResourceRequest;
use serde::Deserialize;

use crate::host::Cluster;
use crate::settings::Settings;

/// The object whose uid seeds the hash: `v1` `Namespace` `kube-system`, conventionally the
/// cluster's identity (it exists from the cluster's creation and is never recreated).
pub const SEED_API_VERSION: &str = "v1";
pub const SEED_KIND: &str = "Namespace";
pub const SEED_NAME: &str = "kube-system";

/// The seed could not be read; the admission fails closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot derive the allocation seed: host call get_resource {SEED_API_VERSION} {SEED_KIND} {SEED_NAME} failed: {0}"
)]
pub struct SeedError(pub String);

/// The request the host answers with the seed's Namespace. Cached by the host (5 s in
/// policy-server): the uid never changes.
pub fn seed_request() -> GetResourceRequest {
    GetResourceRequest {
        api_version: SEED_API_VERSION.to_string(),
        kind: SEED_KIND.to_string(),
        name: SEED_NAME.to_string(),
        namespace: None,
        disable_cache: false,
        field_masks: None,
    }
}

#[derive(Deserialize)]
struct Object {
    metadata: Metadata,
}

#[derive(Deserialize)]
struct Metadata {
    uid: String,
}

/// The seed of this admission: the setting when given (no host call), else the uid.
pub fn resolve(settings: &Settings, cluster: &impl Cluster) -> Result<String, SeedError> {
    if !settings.seed.is_empty() {
        return Ok(settings.seed.clone());
    }
    let raw = cluster
        .get_resource(&seed_request())
        .map_err(|e| SeedError(e.to_string()))?;
    match serde_json::from_slice::<Object>(&raw) {
        Ok(object) if !object.metadata.uid.is_empty() => Ok(object.metadata.uid),
        Ok(_) => Err(SeedError(
            "the Namespace has an empty metadata.uid".to_string(),
        )),
        Err(e) => Err(SeedError(format!("the response is not a Namespace: {e}"))),
    }
}
