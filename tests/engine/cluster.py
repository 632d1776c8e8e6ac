"""Generated clusters for the fake API server: VirtualMachines and Pods with the metadata a real
cluster's objects carry (uid, resourceVersion, generateName, 4-5 labels, 3-4 annotations, an
ownerReference; about 620 bytes of metadata per pod).

- every VM has two interfaces with MACs (masquerade on the pod network, bridge on a Multus
  network) and the tracking label, as the policy admitted it;
- the first pods are the VMs' virt-launcher pods (owner: the VMI; their Multus annotation holds
  the VM's MAC; no tracking label: the policy leaves launcher pods to the VM);
- of the other pods, `mac_share` hold a MAC of their own in the Multus annotation and carry the
  tracking label; the rest are ordinary workload pods owned by a ReplicaSet.
"""

import json

TRACKED = "kubemacpool.io/tracked"
NETWORKS = "k8s.v1.cni.cncf.io/networks"


def mac(prefix, n):
    return "02:%02x:%02x:%02x:%02x:%02x" % (prefix, (n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255)


def uid(kind, n):
    return "%08x-%04x-4%03x-8%03x-%012x" % (n, kind, n % 4096, (n >> 12) % 4096, n * 2654435761 % (1 << 48))


def meta(namespace, name, n, kind, labels, annotations, owner=None, generate_name=None):
    m = {
        "name": name,
        "namespace": namespace,
        "uid": uid(kind, n),
        "resourceVersion": str(100000 + n),
        "creationTimestamp": "2026-11-01T10:%02d:%02dZ" % (n // 60 % 60, n % 60),
        "labels": labels,
        "annotations": annotations,
    }
    if generate_name:
        m["generateName"] = generate_name
    if owner:
        m["ownerReferences"] = [owner]
    return m


def vm(i):
    namespace, name = f"tenant-{i % 50:02d}", f"vm-{i:05d}"
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": meta(namespace, name, i, 1,
                         {TRACKED: "true", "app.kubernetes.io/name": name, "kubevirt.io/os": "fedora"},
                         {"kubevirt.io/latest-observed-api-version": "v1",
                          "kubevirt.io/storage-observed-api-version": "v1"}),
        "spec": {
            "runStrategy": "Always",
            "template": {
                "metadata": {"labels": {"kubevirt.io/domain": name}},
                "spec": {
                    "domain": {
                        "devices": {
                            "disks": [{"name": "root", "disk": {"bus": "virtio"}}],
                            "interfaces": [
                                {"name": "default", "masquerade": {}, "macAddress": mac(0x10, i)},
                                {"name": "blue", "bridge": {}, "macAddress": mac(0x11, i)},
                            ],
                        },
                        "resources": {"requests": {"memory": "2Gi"}},
                    },
                    "networks": [{"name": "default", "pod": {}},
                                 {"name": "blue", "multus": {"networkName": "blue-net"}}],
                    "volumes": [{"name": "root", "dataVolume": {"name": f"{name}-root"}}],
                },
            },
        },
        "status": {"printableStatus": "Running", "ready": True},
    }


def pod(j, vms, mac_share):
    common_annotations = {
        "kubectl.kubernetes.io/restartedAt": "2026-11-20T08:00:00Z",
        "prometheus.io/scrape": "true",
    }
    if j < vms:
        vm_name = f"vm-{j:05d}"
        namespace = f"tenant-{j % 50:02d}"
        owner = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "name": vm_name,
                 "uid": uid(2, j), "controller": True, "blockOwnerDeletion": True}
        annotations = {**common_annotations,
                       NETWORKS: json.dumps([{"name": "blue-net", "namespace": namespace, "mac": mac(0x11, j),
                                              "interface": "pod16367aacb67"}], separators=(",", ":")),
                       "kubevirt.io/domain": vm_name}
        labels = {"kubevirt.io": "virt-launcher", "kubevirt.io/created-by": uid(2, j),
                  "vm.kubevirt.io/name": vm_name, "kubevirt.io/domain": vm_name}
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": meta(namespace, f"virt-launcher-{vm_name}-{j % 100000:05x}", j, 3, labels, annotations,
                                 owner, f"virt-launcher-{vm_name}-"),
                "spec": {"containers": [{"name": "compute", "image": "quay.io/kubevirt/virt-launcher:v1.6.0"}]},
                "status": {"phase": "Running"}}
    app = f"app-{j % 400:03d}"
    namespace = f"team-{j % 40:02d}"
    labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": f"{app}-prod",
              "app.kubernetes.io/part-of": "shop", "pod-template-hash": "7c9d8f6b5d"}
    annotations = dict(common_annotations)
    # Every 1/mac_share-th workload pod holds a MAC of its own, admitted (and labelled) by the policy.
    every = max(1, round(1 / mac_share)) if mac_share > 0 else 0
    if every and j % every == 0:
        labels[TRACKED] = "true"
        annotations[NETWORKS] = json.dumps([{"name": "blue-net", "mac": mac(0x20, j)}], separators=(",", ":"))
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{app}-7c9d8f6b5d",
             "uid": uid(4, j % 400), "controller": True, "blockOwnerDeletion": True}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": meta(namespace, f"{app}-7c9d8f6b5d-{j:06x}", j, 5, labels, annotations, owner,
                             f"{app}-7c9d8f6b5d-"),
            "spec": {"containers": [{"name": "main", "image": f"registry.example/{app}:1.0"}]},
            "status": {"phase": "Running"}}


def generate(vms, pods, mac_share=0.05):
    return {"VirtualMachine": [vm(i) for i in range(vms)],
            "Pod": [pod(j, vms, mac_share) for j in range(pods)]}
