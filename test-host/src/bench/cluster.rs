//! Synthetic clusters shaped as the Kubewarden host sends them under the policy's field masks
//! (compact, keys sorted as policy-server writes them, objects in no particular order): VMs
//! with two interfaces and realistic metadata, Pods with labels, owner references and a few
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
            r#"{{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachine","metadata":{{"#,
            r#""annotations":{{"kubevirt.io/latest-observed-api-version":"v1","kubevirt.io/storage-observed-api-version":"v1"}},"#,
            r#""creationTimestamp":"2026-10-01T08:00:00Z","finalizers":["kubevirt.io/virtualMachineControllerFinalize"],"generation":3,"#,
            r#""labels":{{"app":"{name}","kubemacpool.io/tracked":"true","kubevirt.io/vm":"{name}"}},"#,
            r#""managedFields":[],"name":"{name}","namespace":"{ns}","resourceVersion":"{rv}","uid":"{uid}"}},"#,
            r#""spec":{{"template":{{"spec":{{"domain":{{"devices":{{"interfaces":["#,
            r#"{{"macAddress":"{mac0}","masquerade":{{}},"name":"default"}},{{"bridge":{{}},"macAddress":"{mac1}","name":"blue"}}]}}}},"#,
            r#""networks":[{{"name":"default","pod":{{}}}},{{"multus":{{"networkName":"blue-net"}},"name":"blue"}}]}}}}}}}}"#
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
    let mut annotations = String::new();
    let mut tracked = "";
    if with_mac {
        let _ = write!(
            annotations,
            r#""k8s.v1.cni.cncf.io/networks":"[{{\"name\":\"blue-net\",\"interface\":\"net1\",\"mac\":\"{}\"}}]","#,
            mac(0x0200_1000_0000 + index as u64)
        );
        tracked = r#","kubemacpool.io/tracked":"true""#;
    }
    annotations.push_str(
        r#""kubectl.kubernetes.io/restartedAt":"2026-11-20T08:00:00Z","prometheus.io/port":"9090","prometheus.io/scrape":"true""#,
    );
    format!(
        concat!(
            r#"{{"metadata":{{"annotations":{{{annotations}}},"creationTimestamp":"2026-11-01T08:00:00Z","#,
            r#""generateName":"{app}-{hash}-","#,
            r#""labels":{{"app":"{app}","app.kubernetes.io/part-of":"shop"{tracked},"pod-template-hash":"{hash}"}},"#,
            r#""managedFields":[],"name":"{app}-{hash}-{suffix:05}","namespace":"{ns}","#,
            r#""ownerReferences":[{{"apiVersion":"apps/v1","blockOwnerDeletion":true,"controller":true,"kind":"ReplicaSet","name":"{app}-{hash}","uid":"{owner}"}}],"#,
            r#""resourceVersion":"{rv}","uid":"{uid}"}}}}"#
        ),
        app = app,
        hash = hash,
        suffix = index,
        ns = namespace,
        uid = uid(0x706f, index),
        rv = 200_000 + index,
        tracked = tracked,
        annotations = annotations,
        owner = uid(0x7273, index % 500),
    )
}

/// policy-server lists the objects of a watch in its store's hash order, not by name or
/// MAC: the order matters to whatever the policy sorts.
fn shuffled(count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..count).collect();
    order.sort_by_key(|&i| {
        let mut z = (i as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    });
    order
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
        let vm_list = list("VirtualMachine", shuffled(vms).into_iter().map(vm));
        let pod_order = shuffled(pods);
        Cluster {
            vms,
            pods,
            tracked_pods,
            tracked_vm_list: vm_list.clone(),
            vm_list,
            pod_list: list("Pod", pod_order.iter().map(|&i| pod(i, with_mac(i)))),
            tracked_pod_list: list(
                "Pod",
                pod_order
                    .iter()
                    .filter(|&&i| with_mac(i))
                    .map(|&i| pod(i, true)),
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
