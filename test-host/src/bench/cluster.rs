//! Synthetic clusters shaped as the Kubewarden host sends them under the policy's field masks:
//! VMs with two interfaces and realistic metadata, Pods with labels, owner references and a few
//! annotations, a share of them carrying Multus MACs.

use std::fmt::Write;
use std::sync::Arc;

/// One cluster's two list payloads, as `all` and as `tracked` mode receive them.
pub struct Cluster {
    pub vms: usize,
    pub pods: usize,
    pub tracked_pods: usize,
    pub vm_list: Arc<Vec<u8>>,
    pub pod_list: Arc<Vec<u8>>,
    pub tracked_vm_list: Arc<Vec<u8>>,
    pub tracked_pod_list: Arc<Vec<u8>>,
}

fn mac(value: u64) -> String {
    let b = value.to_be_bytes();
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[2], b[3], b[4], b[5], b[6], b[7]
    )
}

fn uid(kind: u32, index: usize) -> String {
    format!(
        "{kind:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        index >> 16,
        index & 0xfff,
        (index >> 4) & 0xfff,
        index
    )
}

fn vm(index: usize) -> String {
    let name = format!("vm-{index:05}");
    let namespace = format!("tenant-{:03}", index % 200);
    let base = 0x0200_0000_0000u64 + 2 * index as u64;
    format!(
        concat!(
            r#"{{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachine","metadata":{{"name":"{name}","namespace":"{ns}","#,
            r#""uid":"{uid}","resourceVersion":"{rv}","generation":3,"creationTimestamp":"2026-10-01T08:00:00Z","#,
            r#""labels":{{"app":"{name}","kubevirt.io/vm":"{name}","kubemacpool.io/tracked":"true"}},"#,
            r#""annotations":{{"kubevirt.io/latest-observed-api-version":"v1","kubevirt.io/storage-observed-api-version":"v1"}},"#,
            r#""finalizers":["kubevirt.io/virtualMachineControllerFinalize"],"managedFields":[]}},"#,
            r#""spec":{{"template":{{"spec":{{"domain":{{"devices":{{"interfaces":["#,
            r#"{{"name":"default","masquerade":{{}},"macAddress":"{mac0}"}},{{"name":"blue","bridge":{{}},"macAddress":"{mac1}"}}]}}}},"#,
            r#""networks":[{{"name":"default","pod":{{}}}},{{"name":"blue","multus":{{"networkName":"blue-net"}}}}]}}}}}}}}"#
        ),
        name = name,
        ns = namespace,
        uid = uid(0x766d, index),
        rv = 100_000 + index,
        mac0 = mac(base),
        mac1 = mac(base + 1),
    )
}

fn pod(index: usize, with_mac: bool) -> String {
    let app = format!("app-{:03}", index % 500);
    let hash = format!(
        "{:010x}",
        (index as u64).wrapping_mul(0x9e37_79b9) & 0xff_ffff_ffff
    );
    let namespace = format!("tenant-{:03}", index % 200);
    let mut annotations = String::from(
        r#""kubectl.kubernetes.io/restartedAt":"2026-11-20T08:00:00Z","prometheus.io/scrape":"true","prometheus.io/port":"9090""#,
    );
    let mut labels =
        format!(r#""app":"{app}","pod-template-hash":"{hash}","app.kubernetes.io/part-of":"shop""#);
    if with_mac {
        let _ = write!(
            annotations,
            r#","k8s.v1.cni.cncf.io/networks":"[{{\"name\":\"blue-net\",\"interface\":\"net1\",\"mac\":\"{}\"}}]""#,
            mac(0x0200_1000_0000 + index as u64)
        );
        labels.push_str(r#","kubemacpool.io/tracked":"true""#);
    }
    format!(
        concat!(
            r#"{{"metadata":{{"name":"{app}-{hash}-{suffix:05}","generateName":"{app}-{hash}-","namespace":"{ns}","#,
            r#""uid":"{uid}","resourceVersion":"{rv}","creationTimestamp":"2026-11-01T08:00:00Z","#,
            r#""labels":{{{labels}}},"annotations":{{{annotations}}},"#,
            r#""ownerReferences":[{{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"{app}-{hash}","uid":"{owner}","controller":true,"blockOwnerDeletion":true}}],"#,
            r#""managedFields":[]}}}}"#
        ),
        app = app,
        hash = hash,
        suffix = index,
        ns = namespace,
        uid = uid(0x706f, index),
        rv = 200_000 + index,
        labels = labels,
        annotations = annotations,
        owner = uid(0x7273, index % 500),
    )
}

fn list(kind: &str, items: impl Iterator<Item = String>) -> Arc<Vec<u8>> {
    let mut out = format!(
        r#"{{"apiVersion":"v1","kind":"{kind}List","metadata":{{"resourceVersion":"999999"}},"items":["#
    );
    for (index, item) in items.enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push_str(&item);
    }
    out.push_str("]}");
    Arc::new(out.into_bytes())
}

impl Cluster {
    /// `vms` VMs (all holding two MACs, all tracked) and `pods` Pods, of which one in
    /// `1 / mac_share` carries a Multus MAC and the tracking label.
    pub fn generate(vms: usize, pods: usize, mac_share: f64) -> Cluster {
        let every = (1.0 / mac_share).round().max(1.0) as usize;
        let with_mac = |index: usize| index.is_multiple_of(every);
        let tracked_pods = (0..pods).filter(|&i| with_mac(i)).count();
        let vm_list = list("VirtualMachine", (0..vms).map(vm));
        Cluster {
            vms,
            pods,
            tracked_pods,
            tracked_vm_list: vm_list.clone(),
            vm_list,
            pod_list: list("Pod", (0..pods).map(|i| pod(i, with_mac(i)))),
            tracked_pod_list: list(
                "Pod",
                (0..pods).filter(|&i| with_mac(i)).map(|i| pod(i, true)),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payloads_are_json_lists_of_the_given_sizes() {
        let cluster = Cluster::generate(10, 100, 0.05);
        let count = |bytes: &[u8]| {
            serde_json::from_slice::<serde_json::Value>(bytes).unwrap()["items"]
                .as_array()
                .unwrap()
                .len()
        };
        assert_eq!(count(&cluster.vm_list), 10);
        assert_eq!(count(&cluster.pod_list), 100);
        assert_eq!(count(&cluster.tracked_pod_list), 5);
        assert_eq!(cluster.tracked_pods, 5);
        let pod: serde_json::Value = serde_json::from_slice(&cluster.pod_list).unwrap();
        let size = serde_json::to_vec(&pod["items"][1]).unwrap().len();
        assert!(
            (450..700).contains(&size),
            "a pod's metadata is {size} bytes"
        );
    }
}
