"""The markdown tables of bench.py's JSON results (one file per cluster size): one row per system;
where the gap to Kubemacpool lies (Kubewarden's own share, from the trivial policy and the engine
floor, and the policy's, over the floor), warm and after a restart; the watches and connections
per replica. Reads the JSON of earlier runs too (without the floor, the restart pass or the
watches, their tables are left out)."""
import json
import statistics
import sys


def ms(d, key):
    v = d.get(key) or {}
    return f"{v.get('p50_ms')} / {v.get('p95_ms')}"


def first_admissions(systems):
    """The creates that opened index watches (`indexed` right after a restart: the first in their
    span; in runs before index v2, their block), over the first create of `pods-tracked` (which
    opened its watches), if both ran."""
    cold = systems.get("policy indexed, after a restart") or {}
    opened, unit = cold.get("vm_create_first_in_span"), "span"
    if not opened:
        opened, unit = (systems.get("policy indexed") or {}).get("vm_create_first_in_block"), "block"
    tracked = systems.get("policy pods-tracked") or {}
    first = (tracked.get("vm_create_client") or {}).get("first_ms")
    if not opened or not first:
        return ""
    return (f"First admission of a {unit} (`indexed` right after a restart, the {opened['n']} VM CREATEs that opened "
            f"their {unit}'s watches): p50 {opened['p50_ms']} ms, max {opened['max_ms']} ms; `pods-tracked`'s first "
            f"VM CREATE (its watches opened): {first} ms; over it: p50 {opened['p50_ms'] / first:.3f}x, "
            f"max {opened['max_ms'] / first:.3f}x.")


def refused(s):
    """Refused creates of a pass: sequential VM / sequential Pod / burst ('' before they were counted)."""
    if "burst_refused" not in s:
        return ""
    return f"{s.get('vm_create_refused')} / {s.get('pod_create_refused')} / {s['burst_refused']}"


def ratio(a, b):
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or not b:
        return "–"
    return f"{a / b:.2f}x"


# the rows of the gap table: (label, figure of a system's result)
GAP_FIGURES = (
    ("VM CREATE client p50 (ms)", lambda s: (s.get("vm_create_client") or {}).get("p50_ms")),
    ("VM CREATE client p95 (ms)", lambda s: (s.get("vm_create_client") or {}).get("p95_ms")),
    ("Pod CREATE client p50 (ms)", lambda s: (s.get("pod_create_client") or {}).get("p50_ms")),
    ("Pod CREATE client p95 (ms)", lambda s: (s.get("pod_create_client") or {}).get("p95_ms")),
    ("VM CREATE webhook p50 (ms)", lambda s: (s.get("vm_create_webhook") or {}).get("p50_ms")),
    ("Pod CREATE webhook p50 (ms)", lambda s: (s.get("pod_create_webhook") or {}).get("p50_ms")),
    ("200 VMs, 8 clients (s)", lambda s: s.get("burst_seconds")),
)

# the systems of each pass of the gap table: Kubemacpool, trivial, engine floor, policy
GAP_PASSES = (
    ("warm", ("kubemacpool", "trivial, warm", "engine floor, warm", "policy indexed, warm")),
    ("after a restart", ("kubemacpool", "trivial, after a restart", "engine floor, after a restart",
                         "policy indexed, after a restart")),
)


def gap_rows(systems):
    """The gap table's rows (label, [Kubemacpool, trivial, floor, policy figures], ratios...), for
    the passes that ran the trivial policy or the floor; Kubemacpool's figure is its warm one in every pass (the targets'
    reference). The ratios multiply: policy / Kubemacpool = trivial / Kubemacpool x floor /
    trivial x policy / floor."""
    rows = []
    for label, names in GAP_PASSES:
        found = [systems.get(n) for n in names]
        if not any(found[1:3]):  # no trivial, no floor: nothing to split the gap with
            continue
        for figure_label, figure in GAP_FIGURES:
            k, t, f, p = (figure(s) if s else None for s in found)
            rows.append((f"{figure_label}, {label}", [k, t, f, p],
                         [ratio(t, k), ratio(f, t), ratio(p, f), ratio(f, k), ratio(p, k)]))
    return rows


def gap_table(systems):
    rows = gap_rows(systems)
    if not rows:
        return []
    out = ["Where the gap to Kubemacpool lies: trivial / Kubemacpool is Kubewarden's own cost with no host call, "
           "floor / trivial what the policy's calls cost in the engine (the floor makes them and reads nothing), "
           "policy / floor the policy's own share; policy / Kubemacpool is their product. Kubemacpool's figure is "
           "its warm one in both passes.", "",
           "| | Kubemacpool | trivial | engine floor | policy indexed | trivial / Kubemacpool | floor / trivial "
           "| policy / floor | floor / Kubemacpool | policy / Kubemacpool |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for label, figures, ratios in rows:
        cells = ["–" if v is None else str(v) for v in figures] + ratios
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return out


def watches_table(r):
    watches = r.get("watches") or {}
    if not watches:
        return []
    out = ["| replica, when | watches (VM / Pod / other) | reflectors created since its start (log) "
           "| TCP connections to the API server | at most 82 and 82 |", "|---|---|---|---|---|"]
    for when, w in watches.items():
        by = w.get("watches_by_resource") or {}
        vm, pods = by.get("virtualmachines.kubevirt.io", 0), by.get("pods", 0)
        other = w["watches"] - vm - pods
        target = w.get("target", 82)
        within = "yes" if w["watches"] <= target and w["connections"] <= target else "no"
        if when.startswith("kubemacpool"):
            within = "(not a target)"
        out.append(f"| {when} | {w['watches']} ({vm} / {pods} / {other}) | {w.get('reflectors_created', '–')} "
                   f"| {w['connections']} | {within} |")
    return out


def start_cell(r, name, s):
    if name == "kubemacpool":
        start = f"{s['startup_first_answer_ms']} (/readyz: {s['startup_readyz_ms']})"
        if s.get("startup_crashes"):
            start += f", after {len(s['startup_crashes'])} crash(es): " + "; ".join(f"`{c}`" for c in s["startup_crashes"])
        return start
    restarts = s.get("restart_ready_ms")
    if name == next(iter(r["systems"])):
        start = f"{r['policy_startup_loaded_ms']} (empty cluster: {r['policy_startup_ms']})"
        if restarts:
            start += f"; restarted to ready: {statistics.median(restarts):.0f} (median of {len(restarts)})"
        return start
    if restarts:
        return f"restarted to ready: {statistics.median(restarts):.0f} (median of {len(restarts)})"
    return "(same process)"


def main():
    runs = []
    for path in sys.argv[1:]:
        with open(path) as f:
            runs.append(json.load(f))
    runs.sort(key=lambda r: (r["vms"], r["pods"]))
    for r in runs:
        print(f"{r['vms']} VMs, {r['pods']} Pods ({r['multus_pods']} with a Multus MAC), loaded in {r['load_seconds']} s; "
              f"{r['date']}, {r['machine']}; {r['macs_checked']} MACs checked, {r['problem_count']} problems")
        # runs before problem_kinds was recorded have only the first 20 texts
        kinds = r.get("problem_kinds") or {}
        if kinds:
            print()
            print("Problems: " + "; ".join(f"{where} {n}" for where, n in kinds.items()))
        print()
        if r.get("warm_spans_seconds") is not None:
            print(f"Warm passes: every span primed first (kmp.cluster.warm_spans, {r['warm_spans_seconds']} s). "
                  "After a restart: policy-server restarted with nothing primed before each of the sequential VM "
                  "CREATEs, the sequential Pod CREATEs and the burst.")
            print()
        print("| system | start-up to first answer (ms) | VM CREATE client p50 / p95 (ms) | VM CREATE webhook p50 / p95 (ms) "
              "| Pod CREATE client p50 / p95 (ms) | Pod CREATE webhook p50 / p95 (ms) | 200 VMs, 8 clients (s) | collisions "
              "| refused (VM / Pod / burst) | RSS (MiB) | kube-apiserver RSS (MiB) |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for name, s in r["systems"].items():
            print(f"| {name} | {start_cell(r, name, s)} | {ms(s, 'vm_create_client')} | {ms(s, 'vm_create_webhook')} | "
                  f"{ms(s, 'pod_create_client')} | {ms(s, 'pod_create_webhook')} | {s['burst_seconds']} | "
                  f"{s['burst_200_vms_8_clients_collisions']} | {refused(s)} | {s['rss_kib'] // 1024} | {s['apiserver_rss_kib'] // 1024} |")
        print()
        for block in (gap_table(r["systems"]), watches_table(r)):
            if block:
                print("\n".join(block))
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
