"""The cluster invariant, checked after every test of cluster.bats.

    kubectl get vm,pod -A -o json | python3 -m kmp.cluster.invariant LEDGER ALLOWED

- No MAC is held by two objects, unless it is listed in ALLOWED (one MAC a line: a test that asked
  for a duplicate writes it there).
- No stored MAC ever changed or vanished: LEDGER (JSON, created when missing) maps every
  `Kind ns/name interface-or-attachment` ever seen to its MAC (a Pod's attachment is
  `namespace/network@interface#k`, the k-th element with that key, as the policy matches them); an object that still exists must hold
  the same MAC there, as long as that interface (network) is still there. New holders are added
  to LEDGER. An object deleted and created again under
  the same name is a new object (its uid differs) and starts a new entry.

- A Pod the policy indexed (`kubemacpool.io/indexed: v2`) carries a span label for the Pod span
  of each MAC its annotation holds and no other (no `v1` block label either), and
  `kubemacpool.io/tracked` when it holds one. The label keys and spans are the policy's
  (kmp.protocol, from its core through xtask).

MACs are compared in normal form (lower-case, colons). Prints a one-line summary; exits 1 with the
offenders otherwise.
"""

import json
import os
import sys
from collections import defaultdict

from kmp import protocol

NETWORKS = protocol.NETWORKS


def norm(mac):
    m = mac.strip().lower().replace("-", ":")
    if "." in m:
        h = m.replace(".", "")
        m = ":".join(h[i : i + 2] for i in range(0, 12, 2))
    return m


def slots(obj):
    """Every interface (VM) or network (Pod) of obj, whether it holds a MAC or not."""
    md = obj["metadata"]
    if "template" in (obj.get("spec") or {}):
        spec = obj["spec"]["template"].get("spec") or {}
        return {i["name"] for i in ((spec.get("domain") or {}).get("devices") or {}).get("interfaces") or []}
    try:
        networks = json.loads((md.get("annotations") or {}).get(NETWORKS) or "[]")
    except ValueError:
        return set()
    if not isinstance(networks, list):
        return set()
    return {where for where, _ in attachments(md, networks)}


def attachments(md, networks):
    """(attachment, element) for every element: its key and its rank among equal keys."""
    seen = defaultdict(int)
    out = []
    for n in networks:
        if not isinstance(n, dict):
            continue
        key = f'{n.get("namespace") or md.get("namespace")}/{n.get("name")}@{n.get("interface") or ""}'
        out.append((f"{key}#{seen[key]}", n))
        seen[key] += 1
    return out


def holders(obj):
    kind = obj.get("kind") or ("VirtualMachine" if "template" in (obj.get("spec") or {}) else "Pod")
    md = obj["metadata"]
    owner = f'{kind} {md.get("namespace")}/{md["name"]}'
    out = []
    if kind == "VirtualMachine":
        if md.get("deletionTimestamp"):
            return owner, md.get("uid"), out
        spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        for iface in ((spec.get("domain") or {}).get("devices") or {}).get("interfaces") or []:
            if iface.get("macAddress"):
                out.append((iface["name"], norm(iface["macAddress"])))
    else:
        text = (md.get("annotations") or {}).get(NETWORKS)
        try:
            networks = json.loads(text) if text else []
        except ValueError:
            networks = []
        if isinstance(networks, list):
            for where, n in attachments(md, networks):
                if isinstance(n.get("mac"), str) and n["mac"]:
                    out.append((where, norm(n["mac"])))
    return owner, md.get("uid"), out


def label_problems(obj, owner, held):
    labels = obj["metadata"].get("labels") or {}
    if not owner.startswith("Pod ") or labels.get(protocol.INDEXED) != protocol.INDEXED_VALUE:
        return []
    have = sorted(k for k in labels if k.startswith((protocol.SPAN_PREFIX, protocol.V1_BLOCK_PREFIX)))
    want = sorted({protocol.span_label("Pod", protocol.block_of(mac)) for _, mac in held})
    problems = []
    if have != want:
        problems.append(f"{owner}: index labels {have}, its MACs are in spans {want}")
    if held and labels.get(protocol.TRACKED) != protocol.TRACKED_VALUE:
        problems.append(f"{owner}: holds a MAC without {protocol.TRACKED}")
    return problems


def main():
    ledger_path, allowed_path = sys.argv[1], sys.argv[2]
    ledger = json.load(open(ledger_path)) if os.path.exists(ledger_path) else {}
    allowed = set()
    if os.path.exists(allowed_path):
        allowed = {norm(line) for line in open(allowed_path) if line.strip()}
    items = json.load(sys.stdin)["items"]
    by_mac = defaultdict(set)
    problems = []
    count = 0
    present = {}
    for obj in items:
        owner, uid, held = holders(obj)
        problems += label_problems(obj, owner, held)
        present[owner] = (uid, slots(obj), {w for w, _ in held})
        for where, mac in held:
            count += 1
            by_mac[mac].add(owner)
            key = f"{owner} {where}"
            seen = ledger.get(key)
            if seen and seen["uid"] == uid and seen["mac"] != mac:
                problems.append(f"{key}: MAC changed from {seen['mac']} to {mac}")
            elif not seen or seen["uid"] != uid:
                ledger[key] = {"uid": uid, "mac": mac}
    for key, seen in sorted(ledger.items()):
        kind, name, where = key.split(" ", 2)
        now = present.get(f"{kind} {name}")
        if now and now[0] == seen["uid"] and where in now[1] and where not in now[2]:
            problems.append(f"{key}: MAC {seen['mac']} vanished")
    for mac, owners in sorted(by_mac.items()):
        if len(owners) > 1 and mac not in allowed:
            problems.append(f"{mac} held by {', '.join(sorted(owners))}")
    json.dump(ledger, open(ledger_path, "w"), indent=1, sort_keys=True)
    if problems:
        print("invariant broken:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print(f"invariant: {count} MACs on {len(items)} objects, none held twice unasked, none changed, Pod labels right")


if __name__ == "__main__":
    main()
