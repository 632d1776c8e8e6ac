"""The picture of bench.py's results: VM CREATE p50 (client-timed) against the number of VMs, log
scales, one line per system, and the start-up window of each at each size.

    python3 -m kmp.bench.plot OUT.svg RESULT.json...
"""
import json
import sys

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    out, paths = sys.argv[1], sys.argv[2:]
    runs = sorted((json.load(open(p)) for p in paths), key=lambda r: r["vms"])
    systems = []
    for r in runs:
        for name in r["systems"]:
            if name not in systems:
                systems.append(name)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name in systems:
        pts = [(r["vms"], r["systems"][name]["vm_create_client"]["p50_ms"]) for r in runs if name in r["systems"]]
        ax1.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name)
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    pods = " / ".join(f"{r['pods']:,}" for r in runs)
    ax1.set_xlabel(f"VMs in the cluster (Pods: {pods}, 5 % with a Multus MAC)")
    ax1.set_ylabel("VM CREATE p50, client-timed (ms)")
    ax1.set_title("VM CREATE through the API server")
    ax1.grid(True, which="both", alpha=0.3)
    ax1.legend(fontsize=8)
    sizes = [r["vms"] for r in runs]
    width = 0.25
    xs = range(len(runs))
    ax2.bar([x - width for x in xs], [r["policy_startup_loaded_ms"] for r in runs], width, label="policy-server: start to first answer")
    ax2.bar(list(xs), [r["systems"]["kubemacpool"]["startup_first_answer_ms"] for r in runs], width, label="Kubemacpool: start to first answer")
    ax2.bar([x + width for x in xs], [r["systems"]["kubemacpool"]["startup_readyz_ms"] for r in runs], width, label="Kubemacpool: start to /readyz (pool rebuilt)")
    ax2.set_xticks(list(xs))
    ax2.set_xticklabels([f"{s} VMs" for s in sizes])
    ax2.set_ylabel("ms")
    ax2.set_title("Start-up window")
    ax2.legend(fontsize=8)
    r0 = runs[-1]
    fig.suptitle(f"make bench-cluster, {r0['date'][:10]}, {r0['machine']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(out)


if __name__ == "__main__":
    main()
