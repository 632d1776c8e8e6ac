"""The VM shapes of test_data/ that the policy patches, as objects to send to a real API server,
and the check that the API server stored them whole (cluster.bats, the schema test).

    python3 -m kmp.cluster.shapes list TEST_DATA NAMESPACE    one JSON line per shape:
                                                              {"file", "operation", "old", "new"}
    python3 -m kmp.cluster.shapes check SENT STORED           exit 1 with the paths pruned or changed

Shapes: every VirtualMachine CREATE or UPDATE request with a spec.template and no
deletionTimestamp (the ones section 5 of behaviour.md handles). `old` is the UPDATE's oldObject
(created first), `new` the object sent. Server-set metadata (uid, resourceVersion, managedFields,
creationTimestamp) is dropped; name and namespace are the test's.

check: every field of SENT is in STORED with the same value, except interface `macAddress`es the
sender left out (the policy fills them); every interface of STORED that the policy gives a MAC
(masquerade, or a multus network) has one.
"""

import glob
import json
import os
import re
import sys

MAC = re.compile(r"^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$")


def clean(obj, name, namespace):
    md = obj.get("metadata") or {}
    keep = {k: md[k] for k in ("labels", "annotations") if md.get(k)}
    return {**obj, "metadata": {"name": name, "namespace": namespace, **keep}}


def shapes(test_data, namespace):
    for path in sorted(glob.glob(os.path.join(test_data, "vm-*.json"))):
        doc = json.load(open(path))
        req = doc.get("request", doc)
        obj = req.get("object")
        if (req.get("kind") or {}).get("kind") != "VirtualMachine" or req.get("operation") not in ("CREATE", "UPDATE"):
            continue
        if not obj or not (obj.get("spec") or {}).get("template") or obj["metadata"].get("deletionTimestamp"):
            continue
        name = os.path.basename(path)[: -len(".json")]
        old = clean(req["oldObject"], name, namespace) if req.get("oldObject") else None
        yield {"file": os.path.basename(path), "operation": req["operation"], "old": old,
               "new": clean(obj, name, namespace)}


def subset(sent, stored, path, problems):
    if isinstance(sent, dict):
        if not isinstance(stored, dict):
            problems.append(f"{path}: sent an object, stored {json.dumps(stored)}")
            return
        for k, v in sent.items():
            if k not in stored:
                problems.append(f"{path}.{k}: pruned (sent {json.dumps(v)})")
            else:
                subset(v, stored[k], f"{path}.{k}", problems)
    elif isinstance(sent, list):
        if not isinstance(stored, list) or len(stored) != len(sent):
            problems.append(f"{path}: sent {len(sent)} items, stored {json.dumps(stored)}")
            return
        for i, (a, b) in enumerate(zip(sent, stored)):
            subset(a, b, f"{path}[{i}]", problems)
    elif sent != stored:
        problems.append(f"{path}: sent {json.dumps(sent)}, stored {json.dumps(stored)}")


def check(sent, stored):
    problems = []
    subset(sent["spec"], stored["spec"], "spec", problems)
    tspec = stored["spec"]["template"]["spec"]
    multus = {n["name"] for n in tspec.get("networks") or [] if "multus" in n}
    allocated = 0
    for iface in tspec.get("domain", {}).get("devices", {}).get("interfaces") or []:
        eligible = "masquerade" in iface or iface["name"] in multus
        mac = iface.get("macAddress")
        if eligible and not (mac and MAC.match(mac)):
            problems.append(f"interface {iface['name']}: eligible, stored without a MAC ({mac!r})")
        allocated += bool(mac)
    if allocated and (stored["metadata"].get("labels") or {}).get("kubemacpool.io/tracked") != "true":
        problems.append("metadata.labels: kubemacpool.io/tracked missing on a VM that holds MACs")
    return problems


def main():
    if sys.argv[1] == "list":
        for s in shapes(sys.argv[2], sys.argv[3]):
            print(json.dumps(s))
    elif sys.argv[1] == "check":
        problems = check(json.load(open(sys.argv[2])), json.load(open(sys.argv[3])))
        if problems:
            print("\n".join(problems))
            sys.exit(1)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
