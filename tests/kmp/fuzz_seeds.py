"""Writes fuzz/seeds/<target>/: the starting corpus of every fuzz target, taken from the
requests, settings and replay sessions in test_data/ plus a few hand-picked edge cases.
Re-run after changing test_data/:  PYTHONPATH=tests python3 -m kmp.fuzz_seeds"""

import glob
import json
import os
import shutil

import yaml  # PyYAML; the replay sessions are YAML

from kmp import REPO as ROOT
SEEDS = os.path.join(ROOT, "fuzz", "seeds")
SMALL = {"rangeStart": "02:00:00:00:00:00", "rangeEnd": "02:00:00:00:00:0f"}


def write(target, name, data):
    folder = os.path.join(SEEDS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, (dict, list)):
        data = json.dumps(data, separators=(",", ":"))
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def requests(prefix):
    for path in sorted(glob.glob(os.path.join(ROOT, "test_data", prefix + "*.json"))):
        with open(path) as f:
            yield os.path.basename(path)[: -len(".json")], json.load(f)


def main():
    shutil.rmtree(SEEDS, ignore_errors=True)

    for i, mac in enumerate([
        "02:00:00:00:00:01", "AA-BB-CC-DD-EE-FF", "aabb.ccdd.eeff", "0a:00:00:00:00:00-0a:00:00:00:00:ff",
        "02:00:00:00:00", "02:00:00:00:00:00:00:01", "02:00:00:00:00:0g", "02:00-00:00:00:00", "", "ff:ff:ff:ff:ff:ff",
    ]):
        write("mac", f"mac-{i}", mac)

    annotations = set()
    for name, request in requests("pod-"):
        value = request.get("object", {}).get("metadata", {}).get("annotations", {}).get("k8s.v1.cni.cncf.io/networks")
        if value is not None:
            annotations.add(value)
    annotations |= {"blue", "prod/blue@eth1, red", "a/b/c", '[{"name":"x","ips":["10.0.0.1/24"],"mac":""}]'}
    for i, value in enumerate(sorted(annotations)):
        write("multus", f"annotation-{i}", value)

    with open(os.path.join(ROOT, "test_data", "settings-readme.yml")) as f:
        readme = list(yaml.safe_load_all(f))
    settings = [s for s in readme if isinstance(s, dict)] + [
        {}, SMALL, {"rangeStart": "03:00:00:00:00:00"}, {"excludedMacs": ["zz"]}, {"unknown": 1},
        {"rangeStart": "02:FF:FF:FF:FF:FE", "rangeEnd": "04:00:00:00:00:01", "excludedMacs": ["02:ff:ff:ff:ff:ff"]},
    ]
    for i, s in enumerate(settings):
        write("settings", f"settings-{i}", s)
    write("settings", "null", "null")
    write("settings", "list", "[]")

    for target, prefix in [("vm_admission", "vm-"), ("pod_admission", "pod-")]:
        for name, request in requests(prefix):
            write(target, name, {"settings": {}, "request": request})
            write(target, name + "-small-reject", {"settings": dict(SMALL, duplicateMacs="reject"), "request": request})
            if request.get("object") is not None:
                write(target, name + "-object", request["object"])

    for path in sorted(glob.glob(os.path.join(ROOT, "test_data", "session-*.yml"))):
        with open(path) as f:
            exchanges = yaml.safe_load(f) or []
        for i, exchange in enumerate(exchanges):
            response = exchange.get("response", {})
            if response.get("type") == "Success":
                write("inventory", f"{os.path.basename(path)[:-4]}-{i}", response["payload"])


if __name__ == "__main__":
    main()
