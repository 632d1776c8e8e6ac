"""The markdown table of bench.py's JSON results (one file per cluster size), one row per system."""
import json
import sys


def ms(d, key):
    v = d.get(key) or {}
    return f"{v.get('p50_ms')} / {v.get('p95_ms')}"


def first_admissions(systems):
    """The cold pass of `indexed` (right after a restart): the creates that opened a block's
    watches, over the first create of `pods-tracked` (which opened its watches), if both ran."""
    cold, tracked = systems.get("policy indexed") or {}, systems.get("policy pods-tracked") or {}
    block = cold.get("vm_create_first_in_block")
    first = (tracked.get("vm_create_client") or {}).get("first_ms")
    if not block or not first:
        return ""
    return (f"First admission of a block (`indexed` right after a restart, the {block['n']} VM CREATEs that opened "
            f"their block's watches): p50 {block['p50_ms']} ms, max {block['max_ms']} ms; `pods-tracked`'s first "
            f"VM CREATE (its watches opened): {first} ms; over it: p50 {block['p50_ms'] / first:.3f}x, "
            f"max {block['max_ms'] / first:.3f}x.")


def main():
    runs = sorted((json.load(open(p)) for p in sys.argv[1:]), key=lambda r: (r["vms"], r["pods"]))
    for r in runs:
        print(f"{r['vms']} VMs, {r['pods']} Pods ({r['multus_pods']} with a Multus MAC), loaded in {r['load_seconds']} s; "
              f"{r['date']}, {r['machine']}; {r['macs_checked']} MACs checked, {r['problem_count']} problems")
        # runs before problem_kinds was recorded have only the first 20 texts
        kinds = r.get("problem_kinds") or {}
        if kinds:
            print()
            print("Problems: " + "; ".join(f"{where} {n}" for where, n in kinds.items()))
        print()
        print("| system | start-up to first answer (ms) | VM CREATE client p50 / p95 (ms) | VM CREATE webhook p50 / p95 (ms) "
              "| Pod CREATE client p50 / p95 (ms) | Pod CREATE webhook p50 / p95 (ms) | 200 VMs, 8 clients (s) | collisions "
              "| RSS (MiB) | kube-apiserver RSS (MiB) |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for name, s in r["systems"].items():
            if name == "kubemacpool":
                start = f"{s['startup_first_answer_ms']} (/readyz: {s['startup_readyz_ms']})"
                if s.get("startup_crashes"):
                    start += f", after {len(s['startup_crashes'])} crash(es): " + "; ".join(f"`{c}`" for c in s["startup_crashes"])
            elif name == next(iter(r["systems"])):
                start = f"{r['policy_startup_loaded_ms']} (empty cluster: {r['policy_startup_ms']})"
            else:
                start = "(same process)"
            print(f"| {name} | {start} | {ms(s, 'vm_create_client')} | {ms(s, 'vm_create_webhook')} | "
                  f"{ms(s, 'pod_create_client')} | {ms(s, 'pod_create_webhook')} | {s['burst_seconds']} | "
                  f"{s['burst_200_vms_8_clients_collisions']} | {s['rss_kib'] // 1024} | {s['apiserver_rss_kib'] // 1024} |")
        print()
        firsts = first_admissions(r["systems"])
        if firsts:
            print(firsts)
            print()
        restarts = [(name, s["restart_under_load"]) for name, s in r["systems"].items() if s.get("restart_under_load")]
        if restarts:
            print("| restart under load (4 clients creating VMs) | creates | refused | restart (s) | refused for (s) | crashed while starting |")
            print("|---|---|---|---|---|---|")
            for name, u in restarts:
                crashes = "; ".join(f"`{c}`" for c in u.get("crashes", [])) or "no"
                print(f"| {name} | {u['creates']} | {u['refused']} | {u['restart_seconds']} | {u['refused_window_seconds']} | {crashes} |")
            print()


if __name__ == "__main__":
    main()
