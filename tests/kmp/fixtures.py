"""Writes test_data/: the AdmissionRequests and kwctl replay sessions that e2e.bats and the
README and docs/ use. Run it after changing a fixture here, and commit what it writes: the files are the
fixtures, this script only keeps them consistent (the sample cluster, the exact host calls).

The sessions record exactly the calls the policy makes (behaviour.md section 7): VirtualMachines,
then Pods, `list_resources_all` with field masks, and `get_resource` for launcher pods. Those of
the modes that list by kind (`session-cluster*.yml` and the others not named `session-indexed-*`)
hold no seed call: e2e.bats runs them with an explicit `seed` (section 6), as they serve requests
that allocate and requests that do not. The `session-indexed-*` sessions are recorded by the
policy itself (`xtask record`, kmp.protocol): every call it makes for their request, the seed's
`get_resource` of the kube-system Namespace (uid KUBE_SYSTEM_UID) among them, so a replay that
the policy does not follow call by call fails.

    python3 -m kmp.fixtures             writes test_data/ (make test-data)
    python3 -m kmp.fixtures --check     writes nothing; fails, naming the files, when test_data/
                                        differs from what it would write (make unit-tests runs it)
"""

import copy
import filecmp
import json
import os
import sys
import tempfile

from kmp import REPO, protocol

TEST_DATA = os.path.join(REPO, "test_data")
OUT = TEST_DATA
NETWORKS = protocol.NETWORKS
TRACKED = {protocol.TRACKED: protocol.TRACKED_VALUE}
# The uid of the sample cluster's kube-system Namespace: the seed under `seed: ""`.
KUBE_SYSTEM_UID = "d1f0c4a2-7b3e-4f9a-8c6d-2e5b9a0f3c71"
VM_MASKS = protocol.LISTS["VirtualMachine"]["fieldMasks"]
POD_MASKS = protocol.LISTS["Pod"]["fieldMasks"]


def meta(namespace, name, labels=None, annotations=None, **extra):
    m = {
        "name": name,
        "namespace": namespace,
        "uid": f"{namespace}-{name}-uid",
        "resourceVersion": "4242",
        "creationTimestamp": "2026-11-01T10:00:00Z",
        "managedFields": [],
        "annotations": annotations or {},
    }
    if labels:
        m["labels"] = labels
    m.update(extra)
    return m


def iface(name, binding, mac=None):
    i = {"name": name, binding: {}}
    if mac:
        i["macAddress"] = mac
    return i


def pod_net(name):
    return {"name": name, "pod": {}}


def multus(name, network=None):
    return {"name": name, "multus": {"networkName": network or f"{name}-net"}}


def vm(namespace, name, interfaces, networks, labels=None, **extra_meta):
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": meta(namespace, name, labels, **extra_meta),
        "spec": {
            "runStrategy": "Always",
            "template": {
                "metadata": {"labels": {"kubevirt.io/domain": name}},
                "spec": {
                    "domain": {
                        "devices": {
                            "disks": [{"name": "containerdisk", "disk": {"bus": "virtio"}}],
                            "interfaces": interfaces,
                        },
                        "resources": {"requests": {"memory": "1Gi"}},
                    },
                    "networks": networks,
                    "volumes": [{"name": "containerdisk", "containerDisk": {"image": "quay.io/containerdisks/fedora:41"}}],
                },
            },
        },
    }


def masked_vm(v):
    """A VM as the host lists it under the policy's field masks."""
    spec = v["spec"]["template"]["spec"]
    return {
        "apiVersion": v["apiVersion"],
        "kind": v["kind"],
        "metadata": v["metadata"],
        "spec": {"template": {"spec": {"domain": {"devices": {"interfaces": spec["domain"]["devices"]["interfaces"]}}, "networks": spec["networks"]}}},
    }


def pod(namespace, name, networks=None, vmi=None, labels=None, extra_annotations=None, **extra_meta):
    annotations = dict(extra_annotations or {})
    if networks is not None:
        annotations[NETWORKS] = networks
    m = meta(namespace, name, labels, annotations, **extra_meta)
    if vmi:
        m["ownerReferences"] = [{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "name": vmi,
                                 "uid": f"{vmi}-vmi-uid", "controller": True, "blockOwnerDeletion": True}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": m,
        "spec": {"containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10"}]},
    }


def listed_pod(p):
    """A Pod as the host lists it: its type, and metadata only under the masks."""
    return {"apiVersion": p["apiVersion"], "kind": p["kind"], "metadata": p["metadata"]}


# The bundled sample cluster -------------------------------------------------------------------

SAMPLE_VMS = [
    vm("default", "web", [iface("default", "masquerade", "02:00:00:00:00:10")], [pod_net("default")], labels=TRACKED),
    vm("prod", "db", [iface("default", "bridge"), iface("blue", "bridge", "02:00:00:00:00:20")],
       [pod_net("default"), multus("blue")], labels=TRACKED),
    # Being deleted: holds nothing.
    vm("default", "retired", [iface("blue", "bridge", "02:00:00:00:00:30")], [multus("blue")], labels=TRACKED,
       deletionTimestamp="2026-11-27T09:00:00Z"),
    # Created before the policy: no tracking label (unseen only with `inventory: tracked`).
    vm("legacy", "old-vm", [iface("blue", "sriov", "02:00:00:00:00:50")], [multus("blue")]),
    # Shares .70 with the pod default/clash-pod: what the audit reports.
    vm("default", "clash-vm", [iface("blue", "bridge", "02:00:00:00:00:70")], [multus("blue")], labels=TRACKED),
]
SAMPLE_PODS = [
    pod("default", "net-tool", json.dumps([{"name": "blue-net", "mac": "02:00:00:00:00:40"}], separators=(",", ":")),
        labels=TRACKED, extra_annotations={"kubectl.kubernetes.io/restartedAt": "2026-11-20T08:00:00Z"}),
    pod("prod", "virt-launcher-db-7xk2p", json.dumps([{"name": "blue-net", "namespace": "prod", "mac": "02:00:00:00:00:20", "interface": "pod16367aacb67"}], separators=(",", ":")),
        vmi="db", labels={**TRACKED, "kubevirt.io": "virt-launcher"}),
    pod("kube-system", "coredns-6d4b75cb6d-abcde", labels={"k8s-app": "kube-dns"}),
    pod("default", "short-form", "blue-net", labels={"app": "legacy"}),
    # Created before the policy: unlabelled. Its launcher pod holds old-vm's MAC, which the VM
    # list has anyway; old-pod's own MAC is seen only with `inventory: all`.
    pod("legacy", "virt-launcher-old-vm-h8v4s", json.dumps([{"name": "blue-net", "namespace": "legacy", "mac": "02:00:00:00:00:50", "interface": "pod16367aacb67"}], separators=(",", ":")),
        vmi="old-vm", labels={"kubevirt.io": "virt-launcher"}),
    pod("legacy", "old-pod", json.dumps([{"name": "blue-net", "mac": "02:00:00:00:00:60"}], separators=(",", ":")),
        labels={"app": "legacy"}),
    pod("default", "clash-pod", json.dumps([{"name": "blue-net", "mac": "02:00:00:00:00:70"}], separators=(",", ":")),
        labels=TRACKED),
]


def is_tracked(obj):
    return obj["metadata"].get("labels", {}).get(protocol.TRACKED) == protocol.TRACKED_VALUE


def list_payload(kind, items):
    return json.dumps({"apiVersion": "v1" if kind == "Pod" else "kubevirt.io/v1", "kind": f"{kind}List",
                       "metadata": {"resourceVersion": "4300"}, "items": items}, separators=(",", ":"))


def yaml_quote(text):
    return "'" + text.replace("'", "''") + "'"


# What each `inventory` mode lists by the tracking label (behaviour.md section 7).
SELECTS_BY_LABEL = {
    "pods-tracked": {"VirtualMachine": False, "Pod": True},
    "all": {"VirtualMachine": False, "Pod": False},
    "tracked": {"VirtualMachine": True, "Pod": True},
}


def list_request(kind, selector):
    """The recorded request of a `list_resources_all` of `kind` with the policy's field masks."""
    api = protocol.LISTS[kind]["apiVersion"]
    masks = protocol.LISTS[kind]["fieldMasks"]
    return [
        "- type: Exchange",
        "  request: |",
        "    !KubernetesListResourceAll",
        f"    api_version: {api}",
        f"    kind: {kind}",
        f"    label_selector: {selector}",
        "    field_selector: null",
        "    field_masks:",
    ] + [f"    - {m}" for m in masks]


def list_exchange(kind, items, mode="pods-tracked", error=None):
    selector = protocol.TRACKED_SELECTOR if SELECTS_BY_LABEL[mode][kind] else "null"
    return list_request(kind, selector) + response_lines(error, lambda: list_payload(kind, items))


def get_exchange(namespace, name, found=None, error=None):
    lines = [
        "- type: Exchange",
        "  request: |",
        "    !KubernetesGetResource",
        "    api_version: kubevirt.io/v1",
        "    kind: VirtualMachine",
        f"    name: {name}",
        f"    namespace: {namespace}",
        "    disable_cache: false",
        "    field_masks: null",
    ]
    lines += response_lines(error, lambda: json.dumps(found, separators=(",", ":")))
    return lines


def response_lines(error, payload):
    if error is not None:
        return ["  response:", "    type: Error", f"    message: {yaml_quote(error)}"]
    return ["  response:", "    type: Success", f"    payload: {yaml_quote(payload())}"]


def session(name, vms=(), pods=(), mode="pods-tracked", vm_error=None, pod_error=None, get=None):
    """Writes a session: an optional get_resource, then the two inventory lists as `mode`
    selects them (the host lists only labelled objects where the call carries the selector)."""
    lines = []
    if get is not None:
        lines += get_exchange(**get)
    if vms is not None:
        by_label = SELECTS_BY_LABEL[mode]
        listed_vms = [masked_vm(v) for v in vms if not by_label["VirtualMachine"] or is_tracked(v)]
        lines += list_exchange("VirtualMachine", listed_vms, mode, vm_error)
        if vm_error is None and pods is not None:
            listed_pods = [listed_pod(p) for p in pods if not by_label["Pod"] or is_tracked(p)]
            lines += list_exchange("Pod", listed_pods, mode, pod_error)
    write(name, "\n".join(lines) + "\n" if lines else "[]\n")


# `inventory: indexed` (behaviour.md 7.1) -------------------------------------------------------

INDEXED = {protocol.INDEXED: protocol.INDEXED_VALUE}
block_of = protocol.block_of


def index_labels(kind, *macs):
    """The labels the policy writes on a `kind` holding `macs`."""
    return protocol.index_labels(kind, macs)


def labels_of(obj):
    return obj["metadata"].get("labels") or {}


def recorded_session(name, req, vms, pods, settings=None, kube_system_uid=KUBE_SYSTEM_UID):
    """A session of `inventory: indexed` (section 7.1), whose calls depend on the request: the
    calls the policy itself makes for `req` on this cluster, with the host's answers, recorded
    by xtask from the core (so no copy of the call plan lives here)."""
    write(name, protocol.record(req, vms, pods, settings, kube_system_uid))


def write(name, text):
    with open(os.path.join(OUT, name), "w") as f:
        f.write(text)


def request(name, kind, operation, obj, old=None, uid="1299d386-525b-4032-98ae-1949f69f9cfc", dry_run=False, review=False):
    group, resource = {"VirtualMachine": ("kubevirt.io", "virtualmachines"), "Pod": ("", "pods"),
                       "Deployment": ("apps", "deployments")}[kind]
    version = "v1"
    metadata = (obj or old)["metadata"]
    req = {
        "uid": uid,
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": resource},
        "requestKind": {"group": group, "version": version, "kind": kind},
        "requestResource": {"group": group, "version": version, "resource": resource},
        "name": metadata.get("name", ""),
        "namespace": metadata.get("namespace", "default"),
        "operation": operation,
        "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]},
        "object": obj,
        "oldObject": old,
        "dryRun": dry_run,
        "options": {"kind": f"{operation.capitalize()}Options", "apiVersion": "meta.k8s.io/v1"},
    }
    doc = {"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": req} if review else req
    write(name, json.dumps(doc, indent=2) + "\n")
    return req


def audit_request(name, obj):
    """What Kubewarden's audit scanner (1.35, internal/audit-scanner) sends for a stored object:
    CREATE, uid = the object's own uid, Resource holding the Kind, empty userInfo, no dryRun."""
    group, _, version = obj["apiVersion"].rpartition("/")
    gvk = {"group": group, "version": version, "kind": obj["kind"]}
    req = {
        "uid": obj["metadata"]["uid"],
        "kind": gvk,
        "resource": {"group": group, "version": version, "resource": obj["kind"]},
        "requestKind": gvk,
        "name": obj["metadata"]["name"],
        "namespace": obj["metadata"]["namespace"],
        "operation": "CREATE",
        "userInfo": {},
        "object": obj,
        "oldObject": None,
    }
    write(name, json.dumps(req, indent=2) + "\n")


def sample(kind, namespace, name):
    """A stored object of the sample cluster."""
    objects = SAMPLE_VMS if kind == "VirtualMachine" else SAMPLE_PODS
    return next(o for o in objects if o["metadata"]["namespace"] == namespace and o["metadata"]["name"] == name)


def new_vm(name, interfaces, networks, namespace="default"):
    """A VM as a user submits it: no server-side metadata."""
    v = vm(namespace, name, interfaces, networks)
    v["metadata"] = {"name": name, "namespace": namespace}
    return v


def new_pod(name, networks=None, namespace="default", vmi=None, extra_annotations=None, generate_name=None):
    p = pod(namespace, name, networks, vmi, extra_annotations=extra_annotations)
    m = p["metadata"]
    for key in ("uid", "resourceVersion", "creationTimestamp", "managedFields"):
        m.pop(key)
    if generate_name:
        m.pop("name")
        m["generateName"] = generate_name
    return p


def main():
    os.makedirs(OUT, exist_ok=True)

    # The sample cluster as the API server stores it, for the fake API server that the
    # policy-server tests run against (kmp.fake_apiserver).
    kube_system = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system", "uid": KUBE_SYSTEM_UID}}
    write("cluster.json", json.dumps({"VirtualMachine": SAMPLE_VMS, "Pod": SAMPLE_PODS, "Namespace": [kube_system]},
                                     indent=1) + "\n")

    # Sessions ------------------------------------------------------------------------------
    session("session-none.yml", vms=None)
    session("session-empty.yml")
    session("session-cluster.yml", SAMPLE_VMS, SAMPLE_PODS)
    session("session-cluster-shuffled.yml", list(reversed(SAMPLE_VMS)), [SAMPLE_PODS[i] for i in (2, 0, 5, 3, 6, 1, 4)])
    session("session-cluster-all.yml", SAMPLE_VMS, SAMPLE_PODS, mode="all")
    session("session-cluster-tracked.yml", SAMPLE_VMS, SAMPLE_PODS, mode="tracked")
    session("session-vm-list-error.yml", vm_error="Forbidden: virtualmachines.kubevirt.io is forbidden: User \"system:serviceaccount:kubewarden:policy-server\" cannot list resource \"virtualmachines\"")
    session("session-pod-list-error.yml", SAMPLE_VMS, pod_error="Get \"https://10.96.0.1:443/api/v1/pods\": dial tcp 10.96.0.1:443: connect: connection refused")
    # As this version admitted it: with its index labels (behaviour.md 7.1).
    db = vm("prod", "db", [iface("default", "bridge"), iface("blue", "bridge", "02:00:00:00:00:20")], [pod_net("default"), multus("blue")],
            labels=index_labels("VirtualMachine", "02:00:00:00:00:20"))
    session("session-launcher-vm-exists.yml", vms=None, get={"namespace": "prod", "name": "db", "found": db})
    session("session-launcher-standalone.yml", SAMPLE_VMS, SAMPLE_PODS,
            get={"namespace": "prod", "name": "solo", "error": "Cannot find kubevirt.io/v1/VirtualMachine named 'solo' inside of namespace 'Some(\"prod\")'"})
    session("session-launcher-lookup-error.yml", vms=None,
            get={"namespace": "prod", "name": "db", "error": "Forbidden: virtualmachines.kubevirt.io \"db\" is forbidden"})

    # VirtualMachine requests ---------------------------------------------------------------
    demo = new_vm("vm-demo", [iface("default", "masquerade"), iface("blue", "bridge")], [pod_net("default"), multus("blue")])
    vm_create = request("vm-create.json", "VirtualMachine", "CREATE", demo)
    request("vm-create-review.json", "VirtualMachine", "CREATE", demo, review=True)
    request("vm-create-dry-run.json", "VirtualMachine", "CREATE", demo, dry_run=True)
    request("vm-create-bridge-pod-network.json", "VirtualMachine", "CREATE",
            new_vm("vm-bridge", [iface("default", "bridge")], [pod_net("default")]))
    request("vm-create-multus-bridge-sriov.json", "VirtualMachine", "CREATE",
            new_vm("vm-nfv", [iface("blue", "bridge"), iface("fast", "sriov")], [multus("blue"), multus("fast", "sriov-net")]))
    request("vm-create-user-mac.json", "VirtualMachine", "CREATE",
            new_vm("vm-pinned", [iface("blue", "bridge", "02-00-00-00-AB-CD")], [multus("blue")]))
    request("vm-create-duplicate-macs.json", "VirtualMachine", "CREATE",
            new_vm("vm-dup", [iface("blue", "bridge", "02:00:00:00:FF:FF"), iface("red", "bridge", "02-00-00-00-ff-ff")], [multus("blue"), multus("red")]))
    request("vm-create-invalid-mac.json", "VirtualMachine", "CREATE",
            new_vm("vm-bad", [iface("blue", "bridge", "02:00:00:00:00")], [multus("blue")]))
    request("vm-create-duplicate-names.json", "VirtualMachine", "CREATE",
            new_vm("vm-twins", [iface("blue", "bridge"), iface("blue", "masquerade")], [multus("blue")]))
    no_template = new_vm("vm-empty", [], [])
    no_template["spec"] = {"runStrategy": "Halted"}
    request("vm-create-no-template.json", "VirtualMachine", "CREATE", no_template)
    one_nic = new_vm("vm-one", [iface("blue", "bridge")], [multus("blue")])
    vm_one_nic = request("vm-create-one-nic.json", "VirtualMachine", "CREATE", one_nic)
    four = new_vm("vm-four", [iface(f"n{i}", "bridge") for i in range(4)], [multus(f"n{i}") for i in range(4)])
    request("vm-create-four-nics.json", "VirtualMachine", "CREATE", four)
    # The receiving end of a decentralized live migration, with its source's MAC (behaviour.md 6).
    receiver = new_vm("vm-receiver", [iface("blue", "bridge", "02:00:00:00:00:70")], [multus("blue")])
    receiver["spec"]["runStrategy"] = "WaitAsReceiver"
    request("vm-create-receiver.json", "VirtualMachine", "CREATE", receiver)
    for target in ("vm", "pod"):
        mac = "02:00:00:00:00:50" if target == "vm" else "02:00:00:00:00:40"
        request(f"vm-create-mac-held-by-{target}.json", "VirtualMachine", "CREATE",
                new_vm("vm-copycat", [iface("blue", "bridge", mac)], [multus("blue")]))

    stored = vm("default", "vm-demo", [iface("default", "masquerade", "02:00:00:00:00:01"), iface("blue", "bridge", "02-00-00-00-00-02")],
                [pod_net("default"), multus("blue")], labels=index_labels("VirtualMachine", "02:00:00:00:00:01"))
    reapplied = copy.deepcopy(stored)
    request("vm-update-reapply.json", "VirtualMachine", "UPDATE", reapplied, stored)
    replaced = copy.deepcopy(stored)
    for i in replaced["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"]:
        i.pop("macAddress")
    request("vm-update-restore.json", "VirtualMachine", "UPDATE", replaced, stored)
    added = copy.deepcopy(stored)
    added["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"].append(iface("red", "bridge"))
    added["spec"]["template"]["spec"]["networks"].append(multus("red"))
    request("vm-update-add-interface.json", "VirtualMachine", "UPDATE", added, stored)
    changed = copy.deepcopy(stored)
    changed["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][1]["macAddress"] = "02:00:00:00:00:99"
    request("vm-update-change-mac.json", "VirtualMachine", "UPDATE", changed, stored)
    twins = copy.deepcopy(stored)
    twins["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][1]["name"] = "default"
    request("vm-update-duplicate-names.json", "VirtualMachine", "UPDATE", twins, stored)
    deleting = copy.deepcopy(stored)
    deleting["metadata"]["deletionTimestamp"] = "2026-11-27T12:00:00Z"
    for i in deleting["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"]:
        i.pop("macAddress")
    request("vm-update-deleting.json", "VirtualMachine", "UPDATE", deleting, stored)
    # The launcher pod of prod/db holds db's MAC: db re-requesting it is no duplicate.
    db_update = copy.deepcopy(db)
    db_update["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][1]["macAddress"] = "02:00:00:00:00:20"
    db_old = copy.deepcopy(db)
    db_old["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][1]["macAddress"] = "02:00:00:00:00:21"
    request("vm-update-own-launcher.json", "VirtualMachine", "UPDATE", db_update, db_old)
    request("vm-delete.json", "VirtualMachine", "DELETE", None, stored)
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
                  "spec": {"template": {"metadata": {"annotations": {NETWORKS: "blue-net"}}}}}
    request("deployment-create.json", "Deployment", "CREATE", deployment)

    # Audit re-evaluations of stored objects (behaviour.md section 10) ---------------------
    audit_request("audit-vm-clash.json", sample("VirtualMachine", "default", "clash-vm"))
    audit_request("audit-pod-clash.json", sample("Pod", "default", "clash-pod"))
    audit_request("audit-vm-alone.json", sample("VirtualMachine", "default", "web"))
    audit_request("audit-vm-own-launcher.json", sample("VirtualMachine", "prod", "db"))
    audit_request("audit-pod-launcher.json", sample("Pod", "prod", "virt-launcher-db-7xk2p"))
    audit_request("audit-vm-no-macs.json", vm("default", "plain", [iface("default", "bridge")], [pod_net("default")]))
    # Requests for the MACs that only some inventory modes see.
    request("vm-create-mac-held-by-old-pod.json", "VirtualMachine", "CREATE",
            new_vm("vm-copycat", [iface("blue", "bridge", "02:00:00:00:00:60")], [multus("blue")]))

    # Pod requests --------------------------------------------------------------------------
    pod_create = request("pod-create.json", "Pod", "CREATE", new_pod("net-client", json.dumps(
        [{"name": "blue-net", "namespace": "default", "interface": "net1"}, {"name": "red-net"}])))
    request("pod-no-annotation.json", "Pod", "CREATE", new_pod("plain"))
    request("pod-network-status.json", "Pod", "CREATE", new_pod("already-wired", "blue-net",
            extra_annotations={"k8s.v1.cni.cncf.io/network-status": "[{\"name\":\"cbr0\",\"default\":true}]"}))
    request("pod-empty-annotation.json", "Pod", "CREATE", new_pod("empty", ""))
    request("pod-short-form.json", "Pod", "CREATE", new_pod("short", "team/blue-net@net1, red-net"))
    request("pod-short-form-malformed.json", "Pod", "CREATE", new_pod("bad-short", "blue-net, a/b/c"))
    request("pod-json-mixed.json", "Pod", "CREATE", new_pod("mixed", json.dumps(
        [{"name": "blue-net", "mac": "02:00:00:00:00:aa"}, {"name": "red-net"}, {"name": "green-net", "mac": ""}], separators=(",", ":"))))
    request("pod-unknown-keys.json", "Pod", "CREATE", new_pod("claims",
            '[{"interface":"net1","name":"blue-net","ipam-claim-reference":"claim-1","cni-args":{"vlan":100},"namespace":"default"}]'))
    request("pod-ips-string.json", "Pod", "CREATE", new_pod("bad-ips", '[{"name":"blue-net","ips":"10.0.0.1"}]'))
    request("pod-invalid-mac.json", "Pod", "CREATE", new_pod("bad-mac", '[{"name":"blue-net","mac":"02:00:00:00:00:0g"}]'))
    request("pod-one-network.json", "Pod", "CREATE", new_pod("one", "blue-net"))
    request("pod-mac-held-by-vm.json", "Pod", "CREATE", new_pod("copycat", '[{"name":"blue-net","mac":"02:00:00:00:00:50"}]'))
    request("pod-launcher-of-vm.json", "Pod", "CREATE", new_pod("virt-launcher-db-9zz9z",
            '[{"name":"blue-net","namespace":"prod","mac":"02:00:00:00:00:20"}]', namespace="prod", vmi="db"))
    request("pod-launcher-standalone.json", "Pod", "CREATE", new_pod("virt-launcher-solo-q1w2e",
            '[{"name":"blue-net","namespace":"prod"}]', namespace="prod", vmi="solo"))
    request("pod-dry-run.json", "Pod", "CREATE", new_pod("one", "blue-net"), dry_run=True)
    for uid in ("a", "b"):
        request(f"pod-generate-name-{uid}.json", "Pod", "CREATE", new_pod("", "blue-net", generate_name="worker-"),
                uid=f"5f2f1c3e-0000-4000-8000-00000000000{uid}")
    request("pod-update.json", "Pod", "UPDATE", new_pod("one", "blue-net"), new_pod("one", "blue-net"))
    # Pod UPDATE (behaviour.md 4.1): the stored pod as this version admitted and Multus wired it,
    # and what a re-apply, a hotplug, a changed MAC and a launcher pod's re-apply write over it.
    def running(name, elements, namespace="default", vmi=None):
        stored_pod = new_pod(name, json.dumps(elements, separators=(",", ":")), namespace=namespace, vmi=vmi,
                             extra_annotations={"k8s.v1.cni.cncf.io/network-status": "[{\"name\":\"cbr0\",\"default\":true}]"})
        stored_pod["metadata"]["labels"] = {**stored_pod["metadata"].get("labels", {}),
                                            **index_labels("Pod", *[e["mac"] for e in elements if e.get("mac")])}
        return stored_pod

    def rewritten(stored_pod, elements):
        new = copy.deepcopy(stored_pod)
        new["metadata"]["annotations"][NETWORKS] = json.dumps(elements)
        return new

    held = [{"name": "blue-net", "namespace": "default", "interface": "net1", "mac": "02:00:00:00:00:a1"},
            {"name": "red-net", "mac": "02-00-00-00-00-B2"}]
    manifest = [{"name": "blue-net", "namespace": "default", "interface": "net1"}, {"name": "red-net"}]
    tool = running("net-client", held)
    request("pod-update-reapply.json", "Pod", "UPDATE", rewritten(tool, manifest), tool)
    hotplug = request("pod-update-hotplug.json", "Pod", "UPDATE", rewritten(tool, held + [{"name": "green-net"}]), tool)
    request("pod-update-change-mac.json", "Pod", "UPDATE",
            rewritten(tool, [held[0], {"name": "red-net", "mac": "02:00:00:00:00:50"}]), tool)
    launcher = running("virt-launcher-db-9zz9z", [{"name": "blue-net", "namespace": "prod", "mac": "02:00:00:00:00:20"}],
                       namespace="prod", vmi="db")
    request("pod-update-launcher-of-vm.json", "Pod", "UPDATE",
            rewritten(launcher, [{"name": "blue-net", "namespace": "prod"}]), launcher)
    solo = running("virt-launcher-solo-q1w2e", [{"name": "blue-net", "namespace": "prod", "mac": "02:00:00:00:00:c3"}],
                   namespace="prod", vmi="solo")
    request("pod-update-launcher-standalone.json", "Pod", "UPDATE",
            rewritten(solo, [{"name": "blue-net", "namespace": "prod"}]), solo)
    session("session-launcher-standalone-lookup.yml", vms=None,
            get={"namespace": "prod", "name": "solo", "error": "Cannot find kubevirt.io/v1/VirtualMachine named 'solo' inside of namespace 'Some(\"prod\")'"})

    # inventory: indexed (behaviour.md 7.1) -------------------------------------------------
    # The sample cluster just after an upgrade (nothing indexed yet), plus objects the policy
    # has indexed: one in block 00, where the sample's MACs are, and one whose labels name the
    # wrong block (an index hole: admissions of block 00 cannot see its MAC).
    idx_vms = SAMPLE_VMS + [
        vm("default", "new-vm", [iface("blue", "bridge", "02:00:00:00:00:80")], [multus("blue")],
           labels=index_labels("VirtualMachine", "02:00:00:00:00:80")),
        vm("default", "misfiled-vm", [iface("blue", "bridge", "02:00:00:00:00:85")], [multus("blue")],
           labels={**TRACKED, **INDEXED, protocol.span_label("VirtualMachine", "7f"): ""}),
    ]
    idx_pods = SAMPLE_PODS + [
        pod("default", "new-pod", json.dumps([{"name": "blue-net", "mac": "02:00:00:00:00:90"}], separators=(",", ":")),
            labels=index_labels("Pod", "02:00:00:00:00:90")),
    ]
    for name, req in [("vm-create", vm_create), ("pod-create", pod_create)]:
        recorded_session(f"session-indexed-{name}.yml", req, idx_vms, idx_pods)
    # The seed (behaviour.md section 6): the same request with the uid given as `seed` (no
    # get_resource), on another cluster (another uid), and on a cluster without kube-system.
    recorded_session("session-indexed-vm-create-seeded.yml", vm_create, idx_vms, idx_pods,
                     settings={"seed": KUBE_SYSTEM_UID})
    recorded_session("session-indexed-vm-create-other-cluster.yml", vm_create, idx_vms, idx_pods,
                     kube_system_uid="0b7e5d3c-9a1f-4c26-b8e4-6f2d0a9c1e58")
    recorded_session("session-seed-missing.yml", vm_create, idx_vms, idx_pods, kube_system_uid=None)
    # Requested MACs of block 00: held by a legacy VM (.50), an indexed VM (.80), an indexed pod
    # (.90), a legacy tracked pod (.40), and the misfiled VM (.85, not seen).
    # Every one of these makes the same calls (block 00, then the legacy lists): the session is
    # recorded for the first, and replaying it for the others checks that they do.
    copycats = [request(f"vm-create-mac-held-by-{target}.json", "VirtualMachine", "CREATE",
                        new_vm("vm-copycat", [iface("blue", "bridge", mac)], [multus("blue")]))
                for target, mac in [("legacy-vm", "02:00:00:00:00:50"), ("indexed-vm", "02:00:00:00:00:80"),
                                    ("indexed-pod", "02:00:00:00:00:90"), ("legacy-pod", "02:00:00:00:00:40"),
                                    ("misfiled-vm", "02:00:00:00:00:85")]]
    recorded_session("session-indexed-block-00.yml", copycats[0], idx_vms, idx_pods)
    # The hotplug of pod-update-hotplug.json: its blank goes to the pod's block; the MACs it kept
    # are not requested, so no other block is listed.
    recorded_session("session-indexed-pod-update-hotplug.yml", hotplug, idx_vms, idx_pods)
    audit_request("audit-vm-misfiled.json", next(v for v in idx_vms if v["metadata"]["name"] == "misfiled-vm"))
    # Pod UPDATE: a tracked pod with a stale span label and a v1 block label gets its v2 labels,
    # nothing else.
    stale = new_pod("net-tool", json.dumps([{"name": "blue-net", "mac": "02:00:00:00:3f:40"}], separators=(",", ":")))
    stale["metadata"]["labels"] = {**TRACKED, protocol.INDEXED: "v1", protocol.V1_BLOCK_PREFIX + "3f": "",
                                   protocol.span_label("Pod", "00"): ""}
    request("pod-update-reindex.json", "Pod", "UPDATE", stale, stale)
    untracked = new_pod("net-tool", json.dumps([{"name": "blue-net", "mac": "02:00:00:00:3f:40"}], separators=(",", ":")))
    request("pod-update-untracked.json", "Pod", "UPDATE", untracked, untracked)
    # VM UPDATE: a stale span label removed, the right one added, no list call (a re-apply).
    restale = copy.deepcopy(stored)
    restale["metadata"]["labels"] = {**TRACKED, protocol.span_label("VirtualMachine", "7f"): ""}
    request("vm-update-stale-block.json", "VirtualMachine", "UPDATE", restale, restale)
    # Two blocks of two pool addresses (10:00-01, 14:00-01), in two VM spans (10-13, 14-17) and one
    # Pod span (10-1f): the object's block full moves the search to the other, which lists the
    # other VM span only; both full is the range is full.
    two_blocks = json.dumps({
        "rangeStart": "02:00:00:00:10:00", "rangeEnd": "02:00:00:00:14:01",
        "excludedMacs": ["02:00:00:00:10:02-02:00:00:00:13:ff"]}, separators=(",", ":"))
    own = protocol.object_block("VirtualMachine", "default", "vm-one", seed=KUBE_SYSTEM_UID, settings=two_blocks)
    other = "14" if own == "10" else "10"

    def fillers(block):
        return [vm("full", f"filler-{block}-{low}", [iface("blue", "bridge", f"02:00:00:00:{block}:{low}")], [multus("blue")],
                   labels=index_labels("VirtualMachine", f"02:00:00:00:{block}:{low}")) for low in ("00", "01")]

    settings = json.loads(two_blocks)
    recorded_session("session-indexed-own-block-full.yml", vm_one_nic, fillers(own), [], settings)
    recorded_session("session-indexed-every-block-full.yml", vm_one_nic, fillers(own) + fillers(other), [], settings)
    write("settings-two-blocks.json", two_blocks + "\n")


def check():
    """Whether test_data/ holds exactly what main() writes: the fixtures cannot drift from the
    policy's protocol, nor from this script, unnoticed."""
    global OUT
    with tempfile.TemporaryDirectory() as out:
        OUT = out
        main()
        written = sorted(os.listdir(out))
        differ = [name for name in written
                  if not os.path.exists(os.path.join(TEST_DATA, name))
                  or not filecmp.cmp(os.path.join(out, name), os.path.join(TEST_DATA, name), shallow=False)]
    if differ:
        sys.exit("kmp.fixtures --check: test_data/ differs from what the generator writes "
                 f"(run make test-data and commit): {', '.join(differ)}")
    print(f"kmp.fixtures --check: the {len(written)} files it writes are in test_data/ as written")


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        check()
    elif sys.argv[1:]:
        sys.exit(__doc__)
    else:
        main()
