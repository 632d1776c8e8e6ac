"""bench.py's answer checks, on the answers a bench-cluster run really got (2026-12-07, 100k VMs), and the first-admission figures table.py prints."""
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


class FirstAdmissionsOfABlock(unittest.TestCase):
    def test_the_block_of_a_mac_is_its_fifth_octet(self):
        self.assertEqual(bench.block_of("02:AA:bb:cc:3F:dd"), "3f")

    def test_indexed_first_in_block_is_given_over_pods_tracked_first_create(self):
        systems = {"policy indexed": {"vm_create_first_in_block": {"p50_ms": 50.0, "max_ms": 200.0, "n": 80}},
                   "policy pods-tracked": {"vm_create_client": {"first_ms": 1000.0}}}
        line = table.first_admissions(systems)
        self.assertIn("p50 50.0 ms, max 200.0 ms", line)
        self.assertIn("over it: p50 0.050x, max 0.200x", line)
        self.assertEqual(table.first_admissions({"policy indexed": systems["policy indexed"]}), "")


if __name__ == "__main__":
    unittest.main()
