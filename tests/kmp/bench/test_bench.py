"""bench.py's answer checks, on the answers a bench-cluster run really got (2026-12-07, 100k VMs), its
watch and connection counts, and the tables table.py prints (the first-admission figures, the gap to
Kubemacpool split between Kubewarden and the policy, the watches per replica, earlier runs' JSON)."""
import contextlib
import io
import json
import os
import socket
import tempfile
import unittest

from kmp.bench import bench, table

TIMEOUT = {"kind": "Status", "status": "Failure", "code": 500, "message":
           'Internal error occurred: failed calling webhook "clusterwide-kubemacpool-vms-opt-out-podstracked'
           '.kubewarden.admission": failed to call webhook: Post "https://127.0.0.1:36463/validate/'
           'clusterwide-kubemacpool-vms-opt-out-podstracked?timeout=10s": context deadline exceeded'}
BUDGET = {"kind": "Status", "status": "Failure", "code": 500, "message":
          'admission webhook "clusterwide-kubemacpool-vms-opt-out-podstracked.kubewarden.admission" denied '
          "the request: Policy execution interrupted because it exceeded the allowed execution time"}


def vm_with(mac):
    return {"spec": {"template": {"spec": {"domain": {"devices": {"interfaces": [{"name": "default", "macAddress": mac}]}}}}}}


class ProblemsAreCountedByWhereAndWhat(unittest.TestCase):
    def setUp(self):
        self.checker = bench.Checker(0x020000000000, 0x02FFFFFFFFFF)

    def test_a_webhook_timeout_and_the_evaluation_budget_are_told_apart(self):
        self.checker.check(500, TIMEOUT, bench.vm_macs, "policy pods-tracked vm p-pods-tracked-burst-10")
        self.checker.check(500, TIMEOUT, bench.vm_macs, "policy pods-tracked vm p-pods-tracked-burst-11")
        self.checker.check(500, BUDGET, bench.vm_macs, "policy pods-tracked vm p-pods-tracked-lat-3")
        self.assertEqual(dict(self.checker.problem_kinds), {
            "policy pods-tracked vm: webhook timeout": 2,
            "policy pods-tracked vm: evaluation budget exceeded": 1,
        })
        self.assertEqual(len(self.checker.problems), 3)

    def test_a_duplicate_and_an_invalid_mac_are_problems_of_their_own(self):
        self.checker.check(201, vm_with("02:00:00:00:00:01"), bench.vm_macs, "load vm 1")
        self.checker.check(201, vm_with("02:00:00:00:00:01"), bench.vm_macs, "load vm 2")
        self.checker.check(201, vm_with("0a:00:00:00:00:01"), bench.vm_macs, "load vm 3")
        self.checker.check(201, vm_with(None), bench.vm_macs, "load vm 4")
        self.assertEqual(dict(self.checker.problem_kinds), {
            "load vm: duplicate MAC": 1,
            "load vm: invalid or missing MAC": 2,
        })

    def test_a_valid_distinct_mac_is_no_problem(self):
        self.checker.check(201, vm_with("02:00:00:00:00:01"), bench.vm_macs, "load vm 1")
        self.checker.check(201, vm_with("02:00:00:00:00:02"), bench.vm_macs, "load vm 2")
        self.assertEqual(self.checker.problems, [])
        self.assertEqual(dict(self.checker.problem_kinds), {})

    def test_the_place_drops_the_object_name_only(self):
        self.assertEqual(bench.problem_where("policy all vm p-all-lat-0"), "policy all vm")
        self.assertEqual(bench.problem_where("load vm 186"), "load vm")
        self.assertEqual(bench.problem_where("load plain pod"), "load plain pod")


class TheEngineSystemsAnswersAreNotChecked(unittest.TestCase):
    def test_a_fixed_or_missing_mac_is_no_problem_but_a_refusal_is(self):
        checker = bench.Checker(0x020000000000, 0x02FFFFFFFFFF)
        floor = bench.policy_target("engine floor, warm", "floor")
        self.assertEqual((floor.vm_ns, floor.multus_ns), (bench.ENGINE_VM_NS, bench.ENGINE_MULTUS_NS))
        for i in range(2):
            checker.check(201, vm_with("02:00:00:00:3c:01"), floor.vm_macs, f"engine floor, warm vm floor-warm-lat-{i}")
        checker.check(201, vm_with(None), bench.policy_target("trivial, warm", "trivial").vm_macs, "trivial, warm vm t-0")
        self.assertEqual(checker.problems, [])
        checker.check(500, TIMEOUT, floor.vm_macs, "engine floor, warm vm floor-warm-burst-3")
        self.assertEqual(dict(checker.problem_kinds), {"engine floor, warm vm: webhook timeout": 1})

    def test_the_policy_is_checked_in_its_own_namespaces(self):
        policy = bench.policy_target("policy indexed, warm", "")
        self.assertEqual((policy.vm_ns, policy.vm_macs, policy.vm_webhook),
                         (bench.VM_NS, bench.vm_macs, "clusterwide-kubemacpool-vms-opt-out.kubewarden.admission"))
        self.assertEqual(bench.policy_target("policy all", "all").pod_webhook,
                         "clusterwide-kubemacpool-pods-opt-in-all.kubewarden.admission")


class WatchesAndConnections(unittest.TestCase):
    def test_the_api_servers_own_watches_are_not_the_replicas(self):
        snap = {"apiserver_watches": {"pods": 18, "virtualmachines.kubevirt.io": 65, "namespaces": 1},
                "connections": 84, "reflectors_created": 82}
        w = bench.watches_per_replica(snap, {"pods": 1, "namespaces": 1})
        self.assertEqual(w["watches"], 82)
        self.assertEqual(w["watches_by_resource"], {"pods": 17, "virtualmachines.kubevirt.io": 65})
        self.assertEqual((w["connections"], w["reflectors_created"], w["target"]), (84, 82, 82))

    def test_an_established_connection_of_this_process_to_the_port_is_counted(self):
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen()
            port = server.getsockname()[1]
            self.assertEqual(bench.api_connections(os.getpid(), {port}), 0)
            with socket.create_connection(("127.0.0.1", port)) as client:
                accepted, _ = server.accept()
                with accepted:
                    # the client's end, and the accepted end (whose remote port is the client's) not
                    self.assertEqual(bench.api_connections(os.getpid(), {port}), 1)
                    self.assertEqual(client.getpeername()[1], port)


def system(vm_p50, vm_p95, pod_p50, burst, **extra):
    return {"vm_create_client": {"p50_ms": vm_p50, "p95_ms": vm_p95, "first_ms": vm_p50},
            "pod_create_client": {"p50_ms": pod_p50, "p95_ms": pod_p50},
            "vm_create_webhook": {"p50_ms": 1.0, "p95_ms": 2.0}, "pod_create_webhook": {"p50_ms": 1.0, "p95_ms": 2.0},
            "burst_seconds": burst, "burst_200_vms_8_clients_collisions": 0, "rss_kib": 2048, "apiserver_rss_kib": 4096,
            **extra}


def run(systems, **extra):
    return {"vms": 1000, "pods": 5000, "multus_pods": 250, "load_seconds": 9.5, "date": "2026-12-07T00:00:00Z",
            "machine": "2 cores, x86_64", "macs_checked": 10, "problem_count": 0, "policy_startup_ms": 900,
            "policy_startup_loaded_ms": 1000, "systems": systems, **extra}


def printed(*docs):
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for i, doc in enumerate(docs):
            paths.append(os.path.join(d, f"{i}.json"))
            with open(paths[-1], "w") as f:
                json.dump(doc, f)
        out = io.StringIO()
        argv = table.sys.argv
        table.sys.argv = ["table.py", *paths]
        try:
            with contextlib.redirect_stdout(out):
                table.main()
        finally:
            table.sys.argv = argv
        return out.getvalue()


class TheGapToKubemacpool(unittest.TestCase):
    SYSTEMS = {
        "policy indexed, after a restart": system(100.0, 300.0, 90.0, 5.0, restart_ready_ms=[900, 1100, 1000],
                                                  vm_create_refused=0, pod_create_refused=1, burst_refused=2),
        "engine floor, after a restart": system(50.0, 200.0, 45.0, 4.0, restart_ready_ms=[900, 900, 900]),
        "trivial, after a restart": system(5.0, 8.0, 5.0, 0.6, restart_ready_ms=[900, 900, 900]),
        "policy indexed, warm": system(12.0, 20.0, 11.0, 1.5, vm_create_refused=0, pod_create_refused=0, burst_refused=0),
        "engine floor, warm": system(8.0, 16.0, 8.0, 1.2),
        "trivial, warm": system(4.0, 6.0, 4.0, 0.5),
        "kubemacpool": system(10.0, 30.0, 6.0, 0.5, startup_first_answer_ms=500, startup_readyz_ms=400, startup_crashes=[]),
    }

    def test_each_row_splits_the_gap_into_kubewardens_share_and_the_policys(self):
        rows = {label: (figures, ratios) for label, figures, ratios in table.gap_rows(self.SYSTEMS)}
        figures, ratios = rows["VM CREATE client p50 (ms), warm"]
        self.assertEqual(figures, [10.0, 4.0, 8.0, 12.0])
        # trivial / Kubemacpool, floor / trivial, policy / floor, floor / Kubemacpool, policy / Kubemacpool
        self.assertEqual(ratios, ["0.40x", "2.00x", "1.50x", "0.80x", "1.20x"])
        figures, ratios = rows["200 VMs, 8 clients (s), after a restart"]
        # Kubemacpool's warm figure is the reference after a restart too
        self.assertEqual(figures, [0.5, 0.6, 4.0, 5.0])
        self.assertEqual(ratios[2:], ["1.25x", "8.00x", "10.00x"])
        self.assertEqual(len(rows), 2 * len(table.GAP_FIGURES))

    def test_a_system_that_did_not_run_leaves_its_cells_empty(self):
        systems = {k: v for k, v in self.SYSTEMS.items() if not k.startswith("trivial")}
        figures, ratios = dict((label, (f, r)) for label, f, r in table.gap_rows(systems))["VM CREATE client p50 (ms), warm"]
        self.assertEqual(figures, [10.0, None, 8.0, 12.0])
        self.assertEqual(ratios, ["–", "–", "1.50x", "0.80x", "1.20x"])

    def test_the_tables_print_the_new_rows(self):
        watches = {"policy-server-1, after the indexed warm pass": {
                       "watches": 82, "watches_by_resource": {"pods": 17, "virtualmachines.kubevirt.io": 65},
                       "connections": 83, "reflectors_created": 82, "target": 82},
                   "kubemacpool, after its passes": {"watches": 9, "watches_by_resource": {"pods": 1}, "connections": 2, "target": 82}}
        text = printed(run(self.SYSTEMS, watches=watches, warm_spans_seconds=4.3))
        self.assertIn("| policy indexed, after a restart | 1000 (empty cluster: 900); restarted to ready: 1000 (median of 3) |", text)
        self.assertIn("| 0 / 1 / 2 |", text)
        self.assertIn("| VM CREATE client p50 (ms), warm | 10.0 | 4.0 | 8.0 | 12.0 | 0.40x | 2.00x | 1.50x | 0.80x | 1.20x |", text)
        self.assertIn("| policy-server-1, after the indexed warm pass | 82 (65 / 17 / 0) | 82 | 83 | no |", text)
        self.assertIn("| kubemacpool, after its passes | 9 (0 / 1 / 8) | – | 2 | (not a target) |", text)

    def test_an_earlier_runs_json_still_prints(self):
        old = run({"policy indexed": system(190.0, 221.0, 183.0, 5.19, vm_create_first_in_block={"p50_ms": 50.0, "max_ms": 200.0, "n": 80}),
                   "policy pods-tracked": system(1000.0, 1000.0, 10.0, 2.0),
                   "policy indexed, warm": system(10.6, 19.6, 11.2, 1.5),
                   "kubemacpool": system(9.6, 32.8, 6.4, 0.52, startup_first_answer_ms=500, startup_readyz_ms=400)})
        text = printed(old)
        self.assertIn("| policy indexed | 1000 (empty cluster: 900) | 190.0 / 221.0 |", text)
        self.assertIn("| policy indexed, warm | (same process) |", text)
        self.assertNotIn("Where the gap", text)
        self.assertNotIn("reflectors created", text)
        self.assertIn("First admission of a block", text)


class FirstAdmissions(unittest.TestCase):
    def test_the_block_of_a_mac_is_its_fifth_octet(self):
        self.assertEqual(bench.block_of("02:AA:bb:cc:3F:dd"), "3f")

    def test_a_mac_opens_the_vm_span_and_the_pod_span_of_its_block(self):
        # behaviour.md 7.1: VM spans of 4 blocks, Pod spans of 16
        self.assertEqual(bench.spans_of("02:00:00:00:3d:01"),
                         {"mac-blocks.kubemacpool.io/3c-3f", "mac-blocks.kubemacpool.io/30-3f"})

    def test_indexed_first_in_span_is_given_over_pods_tracked_first_create(self):
        systems = {"policy indexed, after a restart": {"vm_create_first_in_span": {"p50_ms": 50.0, "max_ms": 200.0, "n": 64}},
                   "policy pods-tracked": {"vm_create_client": {"first_ms": 1000.0}}}
        line = table.first_admissions(systems)
        self.assertIn("First admission of a span", line)
        self.assertIn("the 64 VM CREATEs", line)
        self.assertIn("p50 50.0 ms, max 200.0 ms", line)
        self.assertIn("over it: p50 0.050x, max 0.200x", line)
        self.assertEqual(table.first_admissions({"policy indexed, after a restart": systems["policy indexed, after a restart"]}), "")

    def test_a_run_before_index_v2_gives_the_first_in_block(self):
        systems = {"policy indexed": {"vm_create_first_in_block": {"p50_ms": 50.0, "max_ms": 200.0, "n": 80}},
                   "policy pods-tracked": {"vm_create_client": {"first_ms": 1000.0}}}
        line = table.first_admissions(systems)
        self.assertIn("First admission of a block", line)
        self.assertIn("over it: p50 0.050x, max 0.200x", line)


if __name__ == "__main__":
    unittest.main()
