//! Builders of the objects and lists the tests feed the policy: Pods, VirtualMachines and
//! Kubernetes Lists as the API server and the host send them.

use serde_json::{Value, json};

pub use crate::keys::NETWORKS_ANNOTATION as NETWORKS;

/// An interface with a binding method (`masquerade`, `bridge`, `sriov`, ...).
pub fn iface(name: &str, binding: &str, mac: Option<&str>) -> Value {
    let mut interface = json!({ "name": name, binding: {} });
    if let Some(mac) = mac {
        interface["macAddress"] = json!(mac);
    }
    interface
}

pub fn pod_net(name: &str) -> Value {
    json!({ "name": name, "pod": {} })
}

pub fn multus_net(name: &str) -> Value {
    json!({ "name": name, "multus": { "networkName": format!("{name}-net") } })
}

/// A VirtualMachine with the given interfaces and networks, and a few fields the policy does
/// not know, which must survive mutation untouched.
pub fn vm(namespace: &str, name: &str, interfaces: Vec<Value>, networks: Vec<Value>) -> Value {
    json!({
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": { "name": name, "namespace": namespace, "annotations": { "owner": "team-a" } },
        "spec": {
            "runStrategy": "Always",
            "template": {
                "metadata": { "labels": { "kubevirt.io/domain": name } },
                "spec": {
                    "domain": {
                        "devices": { "interfaces": interfaces, "disks": [{ "name": "root", "disk": { "bus": "virtio" } }] },
                        "resources": { "requests": { "memory": "1Gi" } },
                        "futureKubevirtField": { "x": 1 }
                    },
                    "networks": networks
                }
            }
        }
    })
}

/// A pod with an optional Multus annotation and an optional owning VMI.
pub fn pod(namespace: &str, name: &str, networks: Option<&str>, vmi: Option<&str>) -> Value {
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": { "app": "demo" },
            "annotations": { "prometheus.io/scrape": "true" }
        },
        "spec": { "containers": [{ "name": "c", "image": "busybox" }] }
    });
    if let Some(networks) = networks {
        pod["metadata"]["annotations"][NETWORKS] = json!(networks);
    }
    if let Some(vmi) = vmi {
        pod["metadata"]["ownerReferences"] = json!([{
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "name": vmi, "uid": "0000", "controller": true, "blockOwnerDeletion": true
        }]);
    }
    pod
}

/// A Kubernetes List as the host sends it.
pub fn list(items: &[Value]) -> String {
    json!({ "apiVersion": "v1", "kind": "List", "metadata": {}, "items": items }).to_string()
}
