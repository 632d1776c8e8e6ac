"""Generated clusters for the fake API server: VirtualMachines and Pods with the metadata a real
cluster's objects carry (uid, resourceVersion, generateName, 4-5 labels, 3-4 annotations, an
ownerReference; about 620 bytes of metadata per pod).

- every VM has two interfaces with MACs (masquerade on the pod network, bridge on a Multus
  network) and the tracking label, as the policy admitted it;
- the first pods are the VMs' virt-launcher pods (owner: the VMI; their Multus annotation holds
  the VM's MAC; no tracking or index label: the policy leaves launcher pods to the VM);
- of the other pods, `mac_share` hold a MAC of their own in the Multus annotation and carry the
  tracking label; the rest are ordinary workload pods owned by a ReplicaSet.

MACs are spread over all 256 blocks (the fifth octet, behaviour.md section 7.1): object n's
MACs are in block n mod 256, both MACs of a VM in the same block, as the `indexed` allocation
puts them. The index labels (`kubemacpool.io/indexed: "v2"` and `mac-blocks.kubemacpool.io/<span>`
for each span, of the object's kind, that holds a MAC of it) depend on `adoption`:

- `adopted`: every VM and every MAC-holding (tracked) pod carries them, as the policy writes them
  in every inventory mode;
- `half`: the same, except that every other VM (the odd ones) has neither
  `kubemacpool.io/indexed` nor a span label (VMs created before the policy, or admitted by
  an older version): `indexed`'s `kubemacpool.io/indexed!=v2` list returns those;
- `none`: no index label at all (a cluster admitted by the version before `indexed`).

The cluster's `kube-system` Namespace has the uid KUBE_SYSTEM_UID: the allocation seed under
`seed: ""` (behaviour.md section 6).

Objects are generated one at a time (`objects()`), so that a 100,000-VM cluster need not be
held as Python dicts (the fake API server keeps only their encoded bytes).
"""

import json

# The labels, the hash and the block geometry are the policy's, from its core.
from kmp.protocol import (INDEXED, INDEXED_VALUE, NETWORKS, SPAN_PREFIX, TRACKED,  # noqa: F401
                           allocation_hash, object_block, search_start, span_label)

KUBE_SYSTEM_UID = "3a7c9e1f-5b2d-4f80-a6c4-9d1e7b3f5a20"


def kube_system():
    """The cluster's `kube-system` Namespace."""
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system", "uid": KUBE_SYSTEM_UID}}

ADOPTIONS = ("adopted", "half", "none")


def mac(prefix, n):
    """A MAC in block n mod 256 (the fifth octet), unique per (prefix, n) for n < 2^32."""
    return "02:%02x:%02x:%02x:%02x:%02x" % (prefix, (n >> 24) & 255, (n >> 16) & 255, n & 255, (n >> 8) & 255)


def block(address):
    """The index block of a MAC in normal form: its fifth octet, two lower-case hex digits."""
    return address.lower().replace("-", ":").split(":")[4]


def index_labels(labels, macs, kind="VirtualMachine"):
    """Adds the labels the policy writes on a `kind` that holds `macs` (section 7.1)."""
    labels[INDEXED] = INDEXED_VALUE
    for address in macs:
        labels[span_label(kind, block(address))] = ""
    return labels


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


def vm_macs(i):
    return [mac(0x10, i), mac(0x11, i)]


def vm(i, adoption="adopted"):
    namespace, name = f"tenant-{i % 50:02d}", f"vm-{i:05d}"
    default_mac, blue_mac = vm_macs(i)
    labels = {TRACKED: "true", "app.kubernetes.io/name": name, "kubevirt.io/os": "fedora"}
    if adoption == "adopted" or (adoption == "half" and i % 2 == 0):
        index_labels(labels, (default_mac, blue_mac))
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": meta(namespace, name, i, 1, labels,
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
                                {"name": "default", "masquerade": {}, "macAddress": default_mac},
                                {"name": "blue", "bridge": {}, "macAddress": blue_mac},
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


def holds_own_mac(j, vms, mac_share):
    """Whether workload pod j holds a MAC of its own (every 1/mac_share-th one)."""
    every = max(1, round(1 / mac_share)) if mac_share > 0 else 0
    return j >= vms and every and j % every == 0


def pod(j, vms, mac_share, adoption="adopted"):
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
    if holds_own_mac(j, vms, mac_share):
        labels[TRACKED] = "true"
        own = mac(0x20, j)
        if adoption != "none":
            index_labels(labels, (own,), "Pod")
        annotations[NETWORKS] = json.dumps([{"name": "blue-net", "mac": own}], separators=(",", ":"))
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{app}-7c9d8f6b5d",
             "uid": uid(4, j % 400), "controller": True, "blockOwnerDeletion": True}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": meta(namespace, f"{app}-7c9d8f6b5d-{j:06x}", j, 5, labels, annotations, owner,
                             f"{app}-7c9d8f6b5d-"),
            "spec": {"containers": [{"name": "main", "image": f"registry.example/{app}:1.0"}]},
            "status": {"phase": "Running"}}


def objects(vms, pods, mac_share=0.05, adoption="adopted"):
    """Yields (kind, object), the kube-system Namespace, then VMs, then Pods, one at a time."""
    if adoption not in ADOPTIONS:
        raise ValueError(f"adoption must be one of {ADOPTIONS}, not {adoption!r}")
    yield "Namespace", kube_system()
    for i in range(vms):
        yield "VirtualMachine", vm(i, adoption)
    for j in range(pods):
        yield "Pod", pod(j, vms, mac_share, adoption)


def generate(vms, pods, mac_share=0.05, adoption="adopted"):
    out = {"Namespace": [], "VirtualMachine": [], "Pod": []}
    for kind, obj in objects(vms, pods, mac_share, adoption):
        out[kind].append(obj)
    return out


def held_macs(vms, pods, mac_share=0.05):
    """Every MAC the generated cluster holds (VMs' interfaces, tracked pods' annotations), without
    generating the objects: what a check of the policy's answers compares against."""
    held = {m for i in range(vms) for m in vm_macs(i)}
    held.update(mac(0x20, j) for j in range(vms, pods) if holds_own_mac(j, vms, mac_share))
    return held


def count(vms, pods, mac_share=0.05, adoption="adopted"):
    """What the selectors of each inventory mode return on this cluster (for the report)."""
    tracked_pods = sum(1 for j in range(vms, pods) if holds_own_mac(j, vms, mac_share))
    unindexed_vms = {"adopted": 0, "half": vms // 2, "none": vms}[adoption]
    return {"vms": vms, "pods": pods, "tracked_pods": tracked_pods, "unindexed_vms": unindexed_vms,
            "unindexed_tracked_pods": tracked_pods if adoption == "none" else 0}


def block_address(b, j):
    """The j-th address of the default range in block b (fifth octet b), ascending."""
    return "02:%02x:%02x:%02x:%02x:%02x" % ((j >> 24) & 255, (j >> 16) & 255, (j >> 8) & 255, b, j & 255)


def next_in_block(address):
    """The address after `address` among the default range's addresses of its block."""
    o = [int(x, 16) for x in address.split(":")]
    j = (o[1] << 24 | o[2] << 16 | o[3] << 8 | o[5]) + 1
    return block_address(o[4], j % (1 << 32))
