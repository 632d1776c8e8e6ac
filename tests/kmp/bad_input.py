"""Writes the bad-input matrix's fixtures (issue 7) into OUTDIR for e2e.bats: malformed, huge
and odd requests, and inventories with broken items or a million used MACs. They are made when
the tests run, not committed: together they weigh about 70 MB.
    python3 -m kmp.bad_input OUTDIR"""

import json
import os
import sys

from kmp import fixtures as gen

# MACs with wrong lengths and separators, on a VM (each one a request).
BAD_MACS = ["02:00:00:00:00", "02:00:00:00:00:00:00", "02.00.00.00.00.00", "0200:0000:0000",
            "02:00:00:00:00:0", "02::00:00:00:00:00"]
# A 2^20 pool of which every address but one is held: 1024 pods x 1024 networks.
MILLION_BASE = 0x020000000000
MILLION_FREE = MILLION_BASE + 777_777


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def mac(value):
    return ":".join(f"{(value >> shift) & 0xff:02x}" for shift in range(40, -8, -8))


def main(out):
    os.makedirs(out, exist_ok=True)
    gen.OUT = out
    gen.session("session-none.yml", vms=None)
    gen.session("session-empty.yml")

    gen.request("pod-malformed-json.json", "Pod", "CREATE", gen.new_pod("p", '[{"name":"a",}]'))
    gen.request("pod-non-string-name.json", "Pod", "CREATE", gen.new_pod("p", '[{"name":{"x":1}}]'))
    blob = "x" * (10 * 1024 * 1024)
    gen.request("pod-10mb-annotation.json", "Pod", "CREATE", gen.new_pod("p", compact([{"name": "blue", "blob": blob}])))
    gen.request("pod-10000-networks.json", "Pod", "CREATE",
                gen.new_pod("p", compact([{"name": f"net-{i}"} for i in range(10_000)])))
    gen.request("vm-1000-interfaces.json", "VirtualMachine", "CREATE",
                gen.new_vm("big", [gen.iface(f"n{i}", "bridge") for i in range(1000)],
                           [gen.multus(f"n{i}") for i in range(1000)]))
    gen.request("pod-odd-characters.json", "Pod", "CREATE",
                gen.new_pod("p", compact([{"name": "blüe\u0007net", "interface": "éth1", "x": "\u0000"}])))
    gen.request("pod-odd-short-form.json", "Pod", "CREATE", gen.new_pod("p", "blüe@éth1, a\u0007b"))
    for i, bad in enumerate(BAD_MACS):
        gen.request(f"vm-bad-mac-{i}.json", "VirtualMachine", "CREATE",
                    gen.new_vm("vm", [gen.iface("a", "bridge", bad)], [gen.multus("a")]))
    gen.write("bad-macs.txt", "\n".join(BAD_MACS) + "\n")

    # Broken inventory items, each skipped; the two sound ones still hold .10 and .20.
    vms = [
        gen.masked_vm(gen.vm("prod", "sound", [gen.iface("blue", "bridge", "02:00:00:00:00:10")], [gen.multus("blue")])),
        {"kind": "VirtualMachine"},
        {"metadata": None, "spec": {"template": {"spec": {"domain": {"devices": {"interfaces": [{"name": "a", "masquerade": {}, "macAddress": "02:00:00:00:00:30"}]}}}}}},
        {"metadata": {"name": 7, "namespace": "prod"}, "spec": {"template": {"spec": {"domain": {"devices": {"interfaces": [{"name": "a", "masquerade": {}, "macAddress": "02:00:00:00:00:30"}]}}}}}},
        {"metadata": {"name": "x"}, "spec": 5},
        {"metadata": {"name": "y"}, "spec": {"template": {"spec": {"domain": {"devices": {"interfaces": "eth0"}}}}}},
        {"metadata": {"name": "z"}, "spec": {"template": {"spec": {"domain": {"devices": {"interfaces": [{"name": "a", "masquerade": {}, "macAddress": 7}]}}}}}},
        [1, 2, 3],
        None,
    ]
    pods = [
        gen.listed_pod(gen.pod("prod", "sound", compact([{"name": "blue", "mac": "02:00:00:00:00:20"}]))),
        {"metadata": None},
        {"metadata": {"name": "a", "annotations": []}},
        {"metadata": {"name": "b", "annotations": {gen.NETWORKS: 42}}},
        {"metadata": {"name": "c", "annotations": {gen.NETWORKS: "[{not json"}}},
        {"metadata": {"name": "d", "annotations": {gen.NETWORKS: compact([{"name": "x", "mac": "not a mac"}, {"mac": 5}])}}},
        "a string",
    ]
    lines = gen.list_exchange("VirtualMachine", vms) + gen.list_exchange("Pod", pods)
    gen.write("session-broken-items.yml", "\n".join(lines) + "\n")
    gen.request("vm-three-pool.json", "VirtualMachine", "CREATE",
                gen.new_vm("new", [gen.iface("blue", "bridge")], [gen.multus("blue")]))

    holders = []
    for p in range(1024):
        networks = [{"name": "n", "mac": mac(MILLION_BASE + p * 1024 + i)} for i in range(1024)
                    if MILLION_BASE + p * 1024 + i != MILLION_FREE]
        holders.append(gen.listed_pod(gen.pod("bulk", f"holder-{p}", compact(networks), labels=gen.TRACKED)))
    lines = gen.list_exchange("VirtualMachine", []) + gen.list_exchange("Pod", holders)
    gen.write("session-million.yml", "\n".join(lines) + "\n")
    gen.write("million-settings.json", compact({"rangeStart": mac(MILLION_BASE), "rangeEnd": mac(MILLION_BASE + (1 << 20) - 1)}))
    gen.write("million-free.txt", mac(MILLION_FREE) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
