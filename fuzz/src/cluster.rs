//! The in-memory inventory the admission targets run against.

use kubemacpool_policy::host::{Cluster, HostError};
use kubemacpool_policy::testing::MemoryCluster;
use kubewarden_policy_sdk::host_capabilities::kubernetes::{
    GetResourceRequest, ListAllResourcesRequest,
};
use serde_json::json;

/// Answers the VM list, the Pod list and launcher lookups from memory, in any call order.
pub struct StaticCluster {
    pub vms: Vec<u8>,
    pub pods: Vec<u8>,
}

impl Cluster for StaticCluster {
    fn list_resources_all(&self, request: &ListAllResourcesRequest) -> Result<Vec<u8>, HostError> {
        match request.kind.as_str() {
            "VirtualMachine" => Ok(self.vms.clone()),
            "Pod" => Ok(self.pods.clone()),
            other => Err(HostError::Failed(format!(
                "StaticCluster: no list of {other}"
            ))),
        }
    }

    /// A VMI named `standalone-*` has no VM (the pod is allocated for); any other has one.
    fn get_resource(&self, request: &GetResourceRequest) -> Result<Vec<u8>, HostError> {
        if request.name.starts_with("standalone") {
            Err(HostError::NotFound(format!(
                "Cannot find {}/{}",
                request.namespace.clone().unwrap_or_default(),
                request.name
            )))
        } else {
            Ok(
                json!({ "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                "metadata": { "name": request.name, "namespace": request.namespace } })
                .to_string()
                .into_bytes(),
            )
        }
    }
}

/// A small cluster whose MACs fill most of `02:00:00:00:00:00-0f`, so that seeds with that
/// range reach requested-MAC conflicts and a full pool; one VM and one pod share a MAC, and
/// one launcher pod belongs to a VM. It answers label selectors as the API server does, and
/// its objects are indexed in part (db), legacy (web, router) or unlabelled, so that the
/// default `inventory: indexed` reaches its block lists and both legacy lists.
pub fn sample_cluster() -> MemoryCluster {
    let vm = |name: &str, macs: &[&str]| {
        let names: Vec<String> = (0..macs.len()).map(|i| format!("net{i}")).collect();
        json!({ "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": { "name": name, "namespace": "prod", "labels": { "kubemacpool.io/tracked": "true" } },
            "spec": { "template": { "spec": {
                "domain": { "devices": { "interfaces": names.iter().zip(macs).map(|(n, m)|
                    json!({ "name": n, "bridge": {}, "macAddress": m })).collect::<Vec<_>>() } },
                "networks": names.iter().map(|n| json!({ "name": n, "multus": { "networkName": n } })).collect::<Vec<_>>() } } } })
    };
    let pod = |name: &str, networks: &str, vmi: Option<&str>| {
        let mut pod = json!({ "apiVersion": "v1", "kind": "Pod",
            "metadata": { "name": name, "namespace": "prod",
                "annotations": { "k8s.v1.cni.cncf.io/networks": networks } } });
        if let Some(vmi) = vmi {
            pod["metadata"]["ownerReferences"] = json!([{ "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "name": vmi, "uid": "1" }]);
        }
        pod
    };
    let mut db = vm("db", &["02:00:00:00:00:01", "02:00:00:00:00:02"]);
    db["metadata"]["labels"] = json!({ "kubemacpool.io/tracked": "true",
        "kubemacpool.io/indexed": "v2", "mac-blocks.kubemacpool.io/00-03": "" });
    let mut router = pod(
        "router",
        r#"[{"name":"a","mac":"02:00:00:00:00:06"},{"name":"b","mac":"02:00:00:00:00:03"}]"#,
        None,
    );
    router["metadata"]["labels"] = json!({ "kubemacpool.io/tracked": "true" });
    MemoryCluster::new(
        vec![
            db,
            vm(
                "web",
                &["02:00:00:00:00:03", "02-00-00-00-00-04", "0200.0000.0005"],
            ),
            json!({ "kind": "VirtualMachine", "metadata": { "name": "broken", "namespace": 7 } }),
        ],
        vec![
            pod(
                "virt-launcher-db-x",
                r#"[{"name":"net0","mac":"02:00:00:00:00:01"}]"#,
                Some("db"),
            ),
            router,
            pod("short", "prod/a@eth1", None),
            pod("garbage", "[{", None),
        ],
    )
}
