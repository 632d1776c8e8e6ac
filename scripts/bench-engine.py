#!/usr/bin/env python3
"""The real-engine benchmark (`make bench-engine`): admissions in policy-server 1.35 against the
fake API server (tests/engine/fake_apiserver.py) serving generated clusters, for each inventory
mode, beside the engine floor of the same calls (bench-guests: the mode's two list calls, nothing
read) and a trivial accepting policy, measured in the same run, interleaved round by round.

    scripts/bench-engine.py --policy-server PATH --policy annotated-policy.wasm \\
        --floor target/wasm32-wasip1/release/bench_guests.wasm [--sizes 2000:20000,10000:100000]

Prints, per cluster size: p50/p95 of VM CREATE, Pod CREATE with a Multus network and Pod CREATE
without one, at concurrency 1 and 2; the policy / floor ratios (median of same-round ratios);
policy-server's peak RSS (per mode, and with everything loaded); and the cold start: the first admission after policy-server starts,
per mode, which pays the reflectors' initial LISTs.
"""

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
FAKE_APISERVER = os.path.join(REPO, "tests", "engine", "fake_apiserver.py")
MODES = ["pods-tracked", "all", "tracked"]
NETWORKS = "k8s.v1.cni.cncf.io/networks"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, check, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"bench-engine: gave up waiting for {what} after {timeout} s")


def review(kind, obj, uid):
    group = "kubevirt.io" if kind == "VirtualMachine" else ""
    return json.dumps({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": uid, "operation": "CREATE", "namespace": "tenant-07", "name": obj["metadata"]["name"],
            "kind": {"group": group, "version": "v1", "kind": kind},
            "resource": {"group": group, "version": "v1", "resource": kind.lower() + "s"},
            "userInfo": {"username": "bench"}, "object": obj, "oldObject": None, "dryRun": False,
        },
    }).encode()


VM_CREATE = review("VirtualMachine", {
    "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
    "metadata": {"name": "new-vm", "namespace": "tenant-07"},
    "spec": {"template": {"spec": {
        "domain": {"devices": {"interfaces": [{"name": "default", "masquerade": {}}, {"name": "blue", "bridge": {}}]}},
        "networks": [{"name": "default", "pod": {}}, {"name": "blue", "multus": {"networkName": "blue-net"}}],
    }}},
}, "bench-vm")
POD_MULTUS = review("Pod", {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "new-pod", "namespace": "tenant-07",
                 "annotations": {NETWORKS: '[{"name":"blue-net"},{"name":"red-net"}]'}},
    "spec": {"containers": [{"name": "c", "image": "busybox"}]},
}, "bench-pod")
POD_PLAIN = review("Pod", {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "plain-pod", "namespace": "tenant-07", "labels": {"app": "web"}},
    "spec": {"containers": [{"name": "c", "image": "busybox"}]},
}, "bench-plain")


class Client:
    """One keep-alive connection to policy-server."""

    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def post(self, policy, body):
        start = time.perf_counter()
        self.conn.request("POST", f"/validate/{policy}", body, {"Content-Type": "application/json"})
        reply = self.conn.getresponse()
        data = reply.read()
        elapsed = time.perf_counter() - start
        if reply.status != 200:
            raise SystemExit(f"bench-engine: {policy} answered HTTP {reply.status}: {data[:300]!r}")
        return elapsed, json.loads(data)["response"]


def check(case, policy, response):
    """Every answer is checked: a benchmark of a rejection or a timeout measures the wrong thing."""
    if not response.get("allowed"):
        raise SystemExit(f"bench-engine: {policy} refused {case}: {response.get('status')}")
    wants_patch = policy.startswith("policy-") and case != "pod-plain"
    if wants_patch != ("patch" in response):
        raise SystemExit(f"bench-engine: {policy} on {case}: patch expected {wants_patch}, got {response}")


def policies_yml(path, policy, floor, modes, with_floor=True):
    entries = {}

    def entry(module, settings):
        return {"module": f"file://{module}", "allowedToMutate": True, "timeoutEvalSeconds": 30,
                "settings": settings,
                "contextAwareResources": [{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine"},
                                          {"apiVersion": "v1", "kind": "Pod"}],
                "hostCapabilities": ["kubernetes/*"]}

    for mode in modes:
        entries[f"policy-{mode}"] = entry(policy, {"inventory": mode})
        if with_floor:
            entries[f"floor-{mode}"] = entry(floor, {"inventory": mode})
    if with_floor:
        entries["trivial"] = entry(floor, {"inventory": "none"})
    with open(path, "w") as f:
        json.dump(entries, f, indent=1)  # JSON is YAML


class PolicyServer:
    def __init__(self, args, workdir, kubeconfig, policies):
        self.port, self.ready_port = free_port(), free_port()
        cmd = [args.policy_server, "--policies", policies, "--policies-download-dir", workdir,
               "--sigstore-cache-dir", os.path.join(workdir, "sigstore"), "--addr", "127.0.0.1",
               "--port", str(self.port), "--readiness-probe-port", str(self.ready_port),
               "--workers", str(args.workers), "--log-no-color", "--log-level", "warn"]
        if args.sigstore_trust_config:
            cmd += ["--sigstore-trust-config", args.sigstore_trust_config]
        env = dict(os.environ, KUBECONFIG=kubeconfig, RUST_BACKTRACE="0")
        self.log = open(os.path.join(workdir, "policy-server.log"), "ab")
        self.process = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=self.log, cwd=workdir)

        def ready():
            if self.process.poll() is not None:
                raise SystemExit(f"bench-engine: policy-server exited; see {workdir}/policy-server.log")
            c = http.client.HTTPConnection("127.0.0.1", self.ready_port, timeout=2)
            c.request("GET", "/readiness")
            return c.getresponse().status == 200

        wait_for("policy-server's readiness", ready, 120)

    def peak_rss_mib(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def quantile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, round((len(values) - 1) * q))]


def ms(seconds):
    return f"{seconds * 1000:.1f}"


def run_rounds(client, cases, rounds, times):
    # Every other round runs the cases in reverse order (A B, then B A): whatever the
    # position in a round costs (the previous request's memory, a cache) falls on both sides.
    for round_index in range(rounds):
        for name, policy, body in (cases if round_index % 2 == 0 else cases[::-1]):
            elapsed, response = client.post(policy, body)
            check(name, policy, response)
            times.setdefault((name, policy), []).append(elapsed)


def measure(port, cases, rounds, concurrency):
    """Per (case, policy): the latencies of every request. With concurrency 2, two clients
    send the same interleaved sequence at once."""
    per_thread = [dict() for _ in range(concurrency)]
    errors = []

    def worker(index):
        try:
            run_rounds(Client(port), cases, rounds, per_thread[index])
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    merged = {}
    for times in per_thread:
        for key, values in times.items():
            merged.setdefault(key, []).extend(values)
    return merged


def ratio(a, b):
    """The median of same-round ratios: a drift of the machine's speed between rounds cancels."""
    return statistics.median(x / y for x, y in zip(a, b))


def rounds_for(args, vms, sizes):
    """`--rounds` is for the largest cluster. A smaller one costs proportionally less per
    request and weighs the same per-request noise against less work, so it gets more rounds
    (the same time, up to five times as many)."""
    largest = max(v for v, _ in sizes)
    return args.rounds * max(1, min(5, largest // max(1, vms)))


def bench_size(args, vms, pods, workdir, rounds):
    print(f"bench-engine: {vms} VMs + {pods} Pods: generating the cluster", file=sys.stderr, flush=True)
    port_file = os.path.join(workdir, "api-port")
    kubeconfig = os.path.join(workdir, "kubeconfig")
    api = subprocess.Popen([sys.executable, FAKE_APISERVER, "--generate", f"{vms}:{pods}",
                            "--port-file", port_file, "--kubeconfig", kubeconfig],
                           stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, "api.log"), "ab"))
    try:
        wait_for("the fake API server", lambda: os.path.exists(port_file), 600)
        return bench_cluster(args, workdir, kubeconfig, rounds)
    finally:
        api.terminate()
        api.wait()


def bench_cluster(args, workdir, kubeconfig, rounds):
    result = {"cold": {}, "rows": [], "rss": None, "rounds": rounds}
    # Cold start: a fresh policy-server per mode; the first VM CREATE pays the initial LISTs.
    for mode in args.modes:
        policies = os.path.join(workdir, f"cold-{mode}.yml")
        policies_yml(policies, args.policy, args.floor, [mode], with_floor=False)
        server = PolicyServer(args, workdir, kubeconfig, policies)
        try:
            elapsed, response = Client(server.port).post(f"policy-{mode}", VM_CREATE)
            check("vm", f"policy-{mode}", response)
            # A policy-server running this mode alone: its reflectors hold what the mode lists.
            for body in (VM_CREATE, POD_MULTUS):
                Client(server.port).post(f"policy-{mode}", body)
            result["cold"][mode] = (elapsed, server.peak_rss_mib())
            print(f"bench-engine: cold start {mode}: {ms(elapsed)} ms", file=sys.stderr, flush=True)
        finally:
            server.stop()

    policies = os.path.join(workdir, "policies.yml")
    policies_yml(policies, args.policy, args.floor, args.modes)
    server = PolicyServer(args, workdir, kubeconfig, policies)
    try:
        client = Client(server.port)
        for mode in args.modes:  # warm every reflector and instance pool
            for body in (VM_CREATE, POD_MULTUS):
                client.post(f"policy-{mode}", body)
                client.post(f"floor-{mode}", body)
        client.post("trivial", POD_PLAIN)
        for mode in args.modes:
            cases = [("vm", f"policy-{mode}", VM_CREATE), ("vm", f"floor-{mode}", VM_CREATE),
                     ("pod-multus", f"policy-{mode}", POD_MULTUS), ("pod-multus", f"floor-{mode}", POD_MULTUS),
                     ("pod-plain", f"policy-{mode}", POD_PLAIN), ("pod-plain", "trivial", POD_PLAIN)]
            for concurrency in (1, 2):
                print(f"bench-engine: {mode}, concurrency {concurrency}", file=sys.stderr, flush=True)
                times = measure(server.port, cases, result["rounds"], concurrency)
                result["rows"].append((mode, concurrency, times))
        result["rss"] = server.peak_rss_mib()
    finally:
        server.stop()
    return result


def report(size, result, all_floor):
    vms, pods = size
    print(f"\n### {vms} VMs + {pods} Pods ({result['rounds']} rounds)\n")
    print("| mode | concurrency | VM CREATE p50 / p95 ms | floor p50 ms | VM / floor | Pod CREATE (Multus) p50 / p95 ms "
          "| floor p50 ms | Pod / floor | Pod CREATE (no Multus) p50 ms | trivial p50 ms | VM p50 / `all` floor p50 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for mode, concurrency, t in result["rows"]:
        vm, vm_floor = t[("vm", f"policy-{mode}")], t[("vm", f"floor-{mode}")]
        pod, pod_floor = t[("pod-multus", f"policy-{mode}")], t[("pod-multus", f"floor-{mode}")]
        plain, trivial = t[("pod-plain", f"policy-{mode}")], t[("pod-plain", "trivial")]
        against_all = (f"{statistics.median(vm) / all_floor[concurrency]:.2f}"
                       if all_floor.get(concurrency) else "-")
        print(f"| {mode} | {concurrency} | {ms(quantile(vm, .5))} / {ms(quantile(vm, .95))} | {ms(quantile(vm_floor, .5))} "
              f"| {ratio(vm, vm_floor):.2f} | {ms(quantile(pod, .5))} / {ms(quantile(pod, .95))} "
              f"| {ms(quantile(pod_floor, .5))} | {ratio(pod, pod_floor):.2f} | {ms(quantile(plain, .5))} "
              f"| {ms(quantile(trivial, .5))} | {against_all} |")
    cold = ", ".join(f"{mode} {ms(t)} ms" for mode, (t, _) in result["cold"].items())
    alone = ", ".join(f"{mode} {rss:.0f} MiB" for mode, (_, rss) in result["cold"].items())
    print(f"\nCold start (first VM CREATE after policy-server starts): {cold}.\n"
          f"policy-server peak RSS with one mode loaded: {alone}; with every mode, the floors and "
          f"all their reflectors at once: {result['rss']:.0f} MiB.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policy-server", default="policy-server")
    parser.add_argument("--policy", required=True)
    parser.add_argument("--floor", required=True)
    parser.add_argument("--sizes", default="2000:20000,10000:100000")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sigstore-trust-config", default=os.environ.get("SIGSTORE_TRUST_CONFIG"))
    args = parser.parse_args()
    args.policy, args.floor = os.path.abspath(args.policy), os.path.abspath(args.floor)
    args.modes = args.modes.split(",")
    sizes = [tuple(int(n) for n in s.split(":")) for s in args.sizes.split(",")]
    print(f"policy-server: {args.policy_server}, {args.workers} workers, {os.cpu_count()} CPUs, "
          f"{args.rounds} rounds per case for the largest cluster, up to 5x for smaller ones; pods with ~620 B of metadata, 5% holding a Multus MAC")
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-engine-") as workdir:
            result = bench_size(args, *size, workdir, rounds_for(args, size[0], sizes))
        all_floor = {c: statistics.median(t[("vm", "floor-all")]) for m, c, t in result["rows"] if m == "all"}
        report(size, result, all_floor)


if __name__ == "__main__":
    main()
