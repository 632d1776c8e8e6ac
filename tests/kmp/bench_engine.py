"""The real-engine benchmark (`make bench-engine`): admissions in policy-server 1.35 against the
fake API server (kmp.fake_apiserver) serving generated clusters (kmp.synthetic),
for each inventory mode, beside the engine floor of the same calls (bench-guests: the mode's list
calls, nothing read) and a trivial accepting policy, measured in the same run, interleaved round
by round.

    python3 -m kmp.bench_engine --policy-server PATH --policy annotated-policy.wasm \\
        --floor target/bench-floor.wasm [--sizes quick|full|10k|100k|VMS:PODS,...] \\
        [--modes indexed,pods-tracked,all,tracked] [--adoptions adopted,half] [--rounds N] \\
        [--server-per-mode] [--floor-only-modes MODES] [--keep-workdir]

PODS counts every pod, the VMs' virt-launcher pods first: at 100000:100000 every pod is a
launcher pod, so no pod holds a MAC of its own (no tracked pods).

Duration (estimates for the 2-core machine under the other builds' load, from the 2,000-VM runs
and the 10,000-VM figures of docs/performance.md; a round is every case at concurrency 1 and 2): `quick`
(2,000 VMs, the default 15 rounds) about 1.5 min; 10,000 VMs about 13 s a round plus 1-2 min
(`--sizes 10k --rounds 41`: about 11 min); 100,000 VMs about 1 min a round plus about 5 min of
cold starts and per-block warm-up (`--sizes 100k --rounds 15`: about 20 min). With several sizes,
--rounds is for the largest and smaller clusters get up to 5x as many (`full --rounds 15`: 75
rounds at 10,000 VMs, about 40 min in all). policy-server's peak RSS with every mode's reflectors
at 100,000 VMs may reach several GiB: --server-per-mode measures each mode in a server of its own.

Clusters: `adopted` (every VM and every MAC-holding pod carries the index labels; MACs over all
256 blocks) and `half` (every other VM has neither `kubemacpool.io/indexed` nor a span label);
the half-adopted cluster runs only the modes of --half-modes (default: indexed, beside the
pods-tracked floor). Each cluster also holds decoys (decoys() below) at the addresses
where `indexed`'s search starts for each MAC the benchmark's requests ask for (as the policy's
core computes it, through kmp.protocol): an `indexed` policy that makes all
its lists must walk past them.

Prints, per cluster: p50/p95 of VM CREATE, Pod CREATE with a Multus network and Pod CREATE
without one, at concurrency 1 and 2; the policy / floor ratios (median of same-round ratios);
`indexed`'s VM and Pod CREATE p50 over the p50 of the `pods-tracked` floor measured in the same
rounds (interleaved with them), and every mode's VM CREATE p50 over the `all` floor's; the cold
start (the first VM CREATE after policy-server starts, which pays the reflectors' initial LISTs; for `indexed` also the first admission in each
further block, and the watches and memory once every span is in use; and the `pods-tracked`
floor's cold start, which `indexed`'s first admissions are given over); policy-server's peak
RSS and the number of watches it holds (open watch connections at the fake API server), per mode
alone and with everything loaded. Every answer is checked: allowed, a patch where one is due, every
allocated MAC valid, unique and held by no object of the cluster, in the object's block under
`indexed`, and the index labels the policy writes.

A policy that lacks a mode (its settings refuse it) can still be run beside that mode's floor
alone: --floor-only-modes indexed measures the `indexed` floor without the policy.
"""

import argparse
import base64
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import kmp
from kmp import synthetic as generated

MODES = ["indexed", "pods-tracked", "all", "tracked"]
NETWORKS = generated.NETWORKS
MAC = re.compile(r"^02(:[0-9a-f]{2}){5}$")
NAMESPACE = "tenant-07"
# The `seed` setting of the policies and floors (--seed), and the seed their admissions use: the
# setting, or the generated cluster's kube-system uid.
SEED_SETTING = ""
SEED = generated.KUBE_SYSTEM_UID
BASELINE = "pods-tracked"  # the mode `indexed` is compared against
SIZE_PRESETS = {"quick": "2000:20000", "full": "10000:100000,100000:100000",
                "10k": "10000:100000", "100k": "100000:100000"}


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
            "uid": uid, "operation": "CREATE", "namespace": NAMESPACE, "name": obj["metadata"]["name"],
            "kind": {"group": group, "version": "v1", "kind": kind},
            "resource": {"group": group, "version": "v1", "resource": kind.lower() + "s"},
            "userInfo": {"username": "bench"}, "object": obj, "oldObject": None, "dryRun": False,
        },
    }).encode()


def vm_object(name):
    return {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"template": {"spec": {
            "domain": {"devices": {"interfaces": [{"name": "default", "masquerade": {}},
                                                  {"name": "blue", "bridge": {}}]}},
            "networks": [{"name": "default", "pod": {}}, {"name": "blue", "multus": {"networkName": "blue-net"}}],
        }}},
    }


POD_MULTUS_OBJECT = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "new-pod", "namespace": NAMESPACE,
                 "annotations": {NETWORKS: '[{"name":"blue-net"},{"name":"red-net"}]'}},
    "spec": {"containers": [{"name": "c", "image": "busybox"}]},
}
POD_PLAIN_OBJECT = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "plain-pod", "namespace": NAMESPACE, "labels": {"app": "web"}},
    "spec": {"containers": [{"name": "c", "image": "busybox"}]},
}
# What each case asks for: (kind, object, the places whose MAC is allocated, in order).
CASES = {
    "vm": ("VirtualMachine", vm_object("new-vm"), ["default", "blue"]),
    "pod-multus": ("Pod", POD_MULTUS_OBJECT, ["blue-net", "red-net"]),
    "pod-plain": ("Pod", POD_PLAIN_OBJECT, []),
}
BODIES = {case: review(kind, obj, f"bench-{case}") for case, (kind, obj, _) in CASES.items()}


def decoys():
    """Objects that hold, for every MAC the benchmark's requests get allocated, the address where
    `indexed`'s search for it starts (as cluster.search_start predicts it) and the two after it:

    - VM `bench-decoys/decoy`, indexed (its span labels): the start itself, found through
      the block's lists;
    - VM `bench-decoys/decoy-unindexed`, tracked but not indexed: the next address, found only
      through the list of VMs not indexed yet;
    - Pod `bench-decoys/decoy-unindexed`, tracked but not indexed: the one after, found only
      through the list of tracked Pods not indexed yet.

    A policy that makes all of `indexed`'s lists walks past the three; one that skips a list
    hands out a MAC the cluster holds, which the answer check refuses. Returns (objects, every
    decoy MAC, the addresses the searches should end at)."""
    starts = sorted({generated.search_start(kind, NAMESPACE, obj["metadata"]["name"], place, SEED)
                     for kind, obj, places in CASES.values() for place in places})
    second = [generated.next_in_block(m) for m in starts]
    third = [generated.next_in_block(m) for m in second]
    ends = {generated.next_in_block(m) for m in third}

    def vm(name, macs, labels):
        return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                "metadata": {"name": name, "namespace": "bench-decoys", "uid": f"{name}-uid", "resourceVersion": "1",
                             "labels": labels, "annotations": {}},
                "spec": {"template": {"spec": {
                    "domain": {"devices": {"interfaces": [{"name": f"d{n}", "masquerade": {}, "macAddress": m}
                                                          for n, m in enumerate(macs)]}},
                    "networks": [{"name": f"d{n}", "pod": {}} for n in range(len(macs))]}}}}

    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "decoy-unindexed", "namespace": "bench-decoys", "uid": "decoy-pod-uid",
                        "resourceVersion": "1", "labels": {generated.TRACKED: "true"},
                        "annotations": {NETWORKS: json.dumps([{"name": f"net{n}", "mac": m} for n, m in enumerate(third)],
                                                             separators=(",", ":"))}},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]}, "status": {"phase": "Running"}}
    objects = {"VirtualMachine": [vm("decoy", starts, generated.index_labels({generated.TRACKED: "true"}, starts)),
                                  vm("decoy-unindexed", second, {generated.TRACKED: "true"})],
               "Pod": [pod]}
    return objects, set(starts) | set(second) | set(third), ends


class Client:
    """One keep-alive connection to policy-server."""

    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def post(self, policy, body):
        start = time.perf_counter()
        try:
            self.conn.request("POST", f"/validate/{policy}", body, {"Content-Type": "application/json"})
            reply = self.conn.getresponse()
            data = reply.read()
        except TimeoutError:
            request = json.loads(body)["request"]
            raise SystemExit(
                f"bench-engine: {policy} did not answer a {request['kind']['kind']} CREATE "
                f"({request['object']['metadata'].get('name')}) within {self.conn.timeout} s. If a new "
                "reflector's LIST never reached the fake API server (rerun with --keep-workdir and "
                "FAKE_APISERVER_LOG=1: policy-server.log says \"creating new reflector\", api.log has no LIST "
                "for it), that is the policy-server stall kmp.fake_apiserver describes.")
        elapsed = time.perf_counter() - start
        if reply.status != 200:
            raise SystemExit(f"bench-engine: {policy} answered HTTP {reply.status}: {data[:300]!r}")
        return elapsed, json.loads(data)["response"]


def apply_patch(obj, patch):
    """RFC 6902 add / replace / remove, enough for policy-server's diffs."""
    obj = json.loads(json.dumps(obj))
    for op in patch:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent = obj
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        last = parts[-1] if parts else None
        if op["op"] in ("add", "replace"):
            if last is None:
                obj = op["value"]
            elif isinstance(parent, list):
                index = len(parent) if last == "-" else int(last)
                if op["op"] == "add":
                    parent.insert(index, op["value"])
                else:
                    parent[index] = op["value"]
            else:
                parent[last] = op["value"]
        elif op["op"] == "remove":
            del parent[int(last) if isinstance(parent, list) else last]
        else:
            raise SystemExit(f"bench-engine: unexpected patch operation {op}")
    return obj


class Checker:
    """Every answer is checked: a benchmark of a rejection or a timeout measures the wrong thing,
    and one of a policy that ignores the inventory measures too little. Answers repeat (nothing is
    ever written), so each distinct answer is checked in full once."""

    def __init__(self, held, decoy_ends):
        self.held, self.decoy_ends = held, decoy_ends
        self.seen = {}
        self.lock = threading.Lock()
        self.walked = {}  # (mode, case) -> allocated MACs that are the address after a decoy

    def __call__(self, case, policy, response, request=None):
        """`request`: (kind, object, places) when the request is not one of CASES."""
        if not response.get("allowed"):
            raise SystemExit(f"bench-engine: {policy} refused {case}: {response.get('status')}")
        mode = policy.split("-", 1)[1] if "-" in policy else "none"
        is_policy = policy.startswith("policy-")
        wants_patch = case != "pod-plain" and (is_policy or mode == "indexed")
        if wants_patch != ("patch" in response):
            raise SystemExit(f"bench-engine: {policy} on {case}: patch expected {wants_patch}, got {response}")
        if not (is_policy and wants_patch):
            return
        key = (policy, case, response["patch"])
        with self.lock:
            if key in self.seen:
                return
        self.check_macs(case, mode, policy, json.loads(base64.b64decode(response["patch"])), request)
        with self.lock:
            self.seen[key] = True

    def check_macs(self, case, mode, policy, patch, request=None):
        kind, obj, places = request or CASES[case]
        mutated = apply_patch(obj, patch)
        if kind == "VirtualMachine":
            macs = [i.get("macAddress") for i in mutated["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"]]
        else:
            macs = [e.get("mac") for e in json.loads(mutated["metadata"]["annotations"][NETWORKS])]
        where = f"bench-engine: {policy} on {case}"
        if len(macs) != len(places) or not all(m and MAC.match(m) for m in macs) or len(set(macs)) != len(macs):
            raise SystemExit(f"{where}: allocated {macs}, not {len(places)} distinct valid MACs")
        if taken := [m for m in macs if m in self.held]:
            raise SystemExit(f"{where}: allocated {taken}, which the cluster holds")
        labels = mutated["metadata"].get("labels") or {}
        if labels.get(generated.TRACKED) != "true":
            raise SystemExit(f"{where}: no tracking label in {labels}")
        if mode == "indexed":
            block = generated.object_block(kind, NAMESPACE, obj["metadata"]["name"], SEED)
            if outside := [m for m in macs if generated.block(m) != block]:
                raise SystemExit(f"{where}: allocated {outside} outside the object's block {block}")
            spans = {k for k in labels if k.startswith(generated.SPAN_PREFIX)}
            if labels.get(generated.INDEXED) != generated.INDEXED_VALUE or spans != {generated.span_label(kind, block)}:
                raise SystemExit(f"{where}: index labels {labels}, expected indexed={generated.INDEXED_VALUE}"
                                 f" and the span label of block {block}")
            if request is None:
                with self.lock:
                    self.walked[(mode, case)] = (sum(m in self.decoy_ends for m in macs), len(macs))


def policies_yml(path, policy, floor, modes, floor_only=(), with_floor=True, extra_floors=()):
    entries = {}

    def entry(module, settings):
        return {"module": f"file://{module}", "allowedToMutate": True, "timeoutEvalSeconds": 30,
                "settings": settings,
                "contextAwareResources": [{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine"},
                                          {"apiVersion": "v1", "kind": "Namespace"},
                                          {"apiVersion": "v1", "kind": "Pod"}],
                "hostCapabilities": ["kubernetes/*"]}

    def settings(mode):
        return {"inventory": mode, **({"seed": SEED_SETTING} if SEED_SETTING else {})}

    for mode in modes:
        if mode not in floor_only:
            entries[f"policy-{mode}"] = entry(policy, settings(mode))
        if with_floor or mode in floor_only:
            entries[f"floor-{mode}"] = entry(floor, settings(mode))
    for mode in extra_floors:
        entries[f"floor-{mode}"] = entry(floor, settings(mode))
    if with_floor:
        entries["trivial"] = entry(floor, {"inventory": "none"})
    with open(path, "w") as f:
        json.dump(entries, f, indent=1)  # JSON is YAML


def peak_rss_mib(pid):
    """The peak resident memory of process `pid` (VmHWM), in MiB; NaN when it cannot be read."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class FakeApiServer:
    def __init__(self, workdir, vms, pods, adoption, extra):
        self.port_file = os.path.join(workdir, f"api-port-{adoption}")
        self.kubeconfig = os.path.join(workdir, f"kubeconfig-{adoption}")
        extra_file = os.path.join(workdir, "extra.json")
        with open(extra_file, "w") as f:
            json.dump(extra, f)
        start = time.monotonic()
        self.log = open(os.path.join(workdir, "api.log"), "ab")
        self.process = subprocess.Popen(
            kmp.command("fake_apiserver", "--generate", f"{vms}:{pods}", "--adoption", adoption,
                        "--extra", extra_file, "--port-file", self.port_file, "--kubeconfig", self.kubeconfig),
            env=kmp.environ(), stdout=subprocess.DEVNULL, stderr=self.log)

        def up():
            if self.process.poll() is not None:
                raise SystemExit(f"bench-engine: the fake API server exited; see {workdir}/api.log")
            return os.path.exists(self.port_file)

        wait_for("the fake API server", up, 1800)
        with open(self.port_file) as f:
            self.port = int(f.read())
        self.generated_in = time.monotonic() - start

    def stats(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request("GET", "/_stats")
        return json.loads(c.getresponse().read())

    def watches(self):
        return self.stats().get("open watches", 0)

    def rss_mib(self):
        return peak_rss_mib(self.process.pid)

    def stop(self):
        self.process.terminate()
        self.process.wait()
        self.log.close()


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
        self.log_path = os.path.join(workdir, "policy-server.log")
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=self.log, cwd=workdir)

        def ready():
            if self.process.poll() is not None:
                raise SystemExit(f"bench-engine: policy-server exited; see {self.log_path}")
            c = http.client.HTTPConnection("127.0.0.1", self.ready_port, timeout=2)
            c.request("GET", "/readiness")
            return c.getresponse().status == 200

        wait_for("policy-server's readiness", ready, 300)

    def peak_rss_mib(self):
        return peak_rss_mib(self.process.pid)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def settle_watches(api, expected_at_least, timeout=30):
    """The watches policy-server holds, once its reflectors have opened them (a reflector opens
    its watch just after its initial LIST, so they trail the admission by a moment)."""
    deadline = time.monotonic() + timeout
    count = api.watches()
    while count < expected_at_least and time.monotonic() < deadline:
        time.sleep(0.2)
        count = api.watches()
    time.sleep(0.5)
    return api.watches()


def wait_watches_closed(api, timeout=30):
    deadline = time.monotonic() + timeout
    while api.watches() and time.monotonic() < deadline:
        time.sleep(0.2)


def quantile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, round((len(values) - 1) * q))]


def ms(seconds):
    return f"{seconds * 1000:.1f}"


def run_rounds(client, cases, rounds, times, checker):
    # Every other round runs the cases in reverse order (A B, then B A): whatever the
    # position in a round costs (the previous request's memory, a cache) falls on both sides.
    for round_index in range(rounds):
        for name, policy in (cases if round_index % 2 == 0 else cases[::-1]):
            elapsed, response = client.post(policy, BODIES[name])
            checker(name, policy, response)
            times.setdefault((name, policy), []).append(elapsed)


def measure(port, cases, rounds, concurrency, checker):
    """Per (case, policy): the latencies of every request. With concurrency 2, two clients
    send the same interleaved sequence at once."""
    per_thread = [dict() for _ in range(concurrency)]
    errors = []

    def worker(index):
        try:
            run_rounds(Client(port), cases, rounds, per_thread[index], checker)
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


def names_per_block(kind, prefix):
    """One object name for each of the 256 blocks (for warming every block's reflectors)."""
    names, n = {}, 0
    while len(names) < 256:
        name = f"{prefix}-{n}"
        names.setdefault(generated.object_block(kind, NAMESPACE, name, SEED), name)
        n += 1
    return names


def first_answer(client, policy, case, checker, tries=10):
    """The first admission through reflectors that are still loading: (seconds until the first
    answer that is not a timeout, how many timed out first). A reflector's initial LIST counts
    against the evaluation budget (timeoutEvalSeconds, 30 s here), which `all` at 100,000 VMs
    may exceed; the reflector keeps loading, and the admission is sent again."""
    start = time.perf_counter()
    for timed_out in range(tries):
        _, response = client.post(policy, BODIES[case])
        message = (response.get("status") or {}).get("message") or ""
        if response.get("allowed") or not re.search(r"deadline|time ?out|allowed execution time", message, re.I):
            checker(case, policy, response)
            return time.perf_counter() - start, timed_out
        print(f"bench-engine: {policy} {case}: timed out while its reflectors load ({message[:120]})",
              file=sys.stderr, flush=True)
    raise SystemExit(f"bench-engine: {policy} timed out {tries} times on {case}")


def cold_start(args, workdir, api, mode, checker, floor_only):
    """A fresh policy-server running this mode alone: the first VM CREATE pays the initial
    LISTs of its reflectors. For `indexed`, the first VM CREATE in each further block pays that
    block's span lists when it is the first of its span; once every block (so every span) has been
    visited, the watches and memory are counted."""
    policies = os.path.join(workdir, f"cold-{mode}.yml")
    name = f"floor-{mode}" if mode in floor_only else f"policy-{mode}"
    policies_yml(policies, args.policy, args.floor, [mode], floor_only, with_floor=False)
    wait_watches_closed(api)
    before = api.watches()
    server = PolicyServer(args, workdir, api.kubeconfig, policies)
    out = {}
    try:
        client = Client(server.port)
        out["first"], out["timeouts"] = first_answer(client, name, "vm", checker)
        first_answer(client, name, "pod-multus", checker)
        for case in ("vm", "pod-multus"):
            checker(case, name, client.post(name, BODIES[case])[1])
        out["watches"] = settle_watches(api, before + 2) - before
        out["rss"] = server.peak_rss_mib()
        if mode == "indexed":
            # Every further block: the first admission there (its two lists), the legacy lists warm.
            per_block = []
            home = generated.object_block("VirtualMachine", NAMESPACE, "new-vm", SEED)
            pod_home = generated.object_block("Pod", NAMESPACE, "new-pod", SEED)
            for block, vm_name in sorted(names_per_block("VirtualMachine", "warm-vm").items()):
                if block in (home, pod_home):
                    continue
                obj = vm_object(vm_name)
                elapsed, response = client.post(name, review("VirtualMachine", obj, f"warm-{block}"))
                checker(f"vm in block {block}", name, response, ("VirtualMachine", obj, ["default", "blue"]))
                per_block.append(elapsed)
            out["per_block"] = per_block
            out["watches_all_blocks"] = settle_watches(api, before + 514) - before
            out["rss_all_blocks"] = server.peak_rss_mib()
    finally:
        server.stop()
    return out


def bench_cluster(args, workdir, api, modes, rounds, checker, baseline):
    """`baseline`: the mode whose floor `indexed` is compared with in the same rounds (loaded
    even where that mode itself is not run), or None."""
    floor_only = args.floor_only_modes
    result = {"cold": {}, "rows": [], "rss": None, "rounds": rounds, "modes": modes}
    for mode in modes:
        result["cold"][mode] = cold_start(args, workdir, api, mode, checker, floor_only)
        print(f"bench-engine: cold start {mode}: {ms(result['cold'][mode]['first'])} ms", file=sys.stderr, flush=True)
    if baseline and "indexed" in modes:
        # What `indexed`'s first admissions are compared with: the baseline's floor alone in a
        # fresh policy-server, its first admission paying its reflectors' initial LISTs.
        result["cold_floor"] = cold_start(args, workdir, api, baseline, checker, {baseline})
        print(f"bench-engine: cold start {baseline} floor: {ms(result['cold_floor']['first'])} ms",
              file=sys.stderr, flush=True)

    # Every mode in one policy-server (as the earlier runs of docs/performance.md), or one server per mode
    # (--server-per-mode: each holds only its mode's reflectors, for memory at 100,000 VMs).
    groups = [[mode] for mode in modes] if args.server_per_mode else [modes]
    result["servers"] = []
    for group in groups:
        rss, watches = measure_in_server(args, workdir, api, group, rounds, checker, baseline, result["rows"])
        result["servers"].append((group, rss, watches))
    return result


def measure_in_server(args, workdir, api, modes, rounds, checker, baseline, rows):
    floor_only = args.floor_only_modes
    baseline = baseline if baseline and "indexed" in modes else None
    policies = os.path.join(workdir, "policies.yml")
    policies_yml(policies, args.policy, args.floor, modes, floor_only,
                 extra_floors=[baseline] if baseline and baseline not in modes else [])
    wait_watches_closed(api)
    before = api.watches()
    server = PolicyServer(args, workdir, api.kubeconfig, policies)
    try:
        client = Client(server.port)
        for mode in modes:  # warm every reflector and instance pool
            for case in ("vm", "pod-multus"):
                if mode not in floor_only:
                    first_answer(client, f"policy-{mode}", case, checker)
                first_answer(client, f"floor-{mode}", case, checker)
        client.post("trivial", BODIES["pod-plain"])
        if baseline and baseline not in modes:
            for case in ("vm", "pod-multus"):
                first_answer(client, f"floor-{baseline}", case, checker)
        for mode in modes:
            subject = f"floor-{mode}" if mode in floor_only else f"policy-{mode}"
            cases = [("vm", subject), ("vm", f"floor-{mode}"),
                     ("pod-multus", subject), ("pod-multus", f"floor-{mode}"),
                     ("pod-plain", subject), ("pod-plain", "trivial")]
            if mode == "indexed" and baseline:
                # The baseline's floor in the same rounds: the cost `indexed` is to be compared with.
                cases += [("vm", f"floor-{baseline}"), ("pod-multus", f"floor-{baseline}")]
            if mode in floor_only:
                cases = list(dict.fromkeys(cases))
            for concurrency in (1, 2):
                print(f"bench-engine: {mode}, concurrency {concurrency}", file=sys.stderr, flush=True)
                times = measure(server.port, cases, rounds, concurrency, checker)
                rows.append((mode, concurrency, subject, times))
        return server.peak_rss_mib(), settle_watches(api, 0) - before
    finally:
        server.stop()


def report(size, adoption, result, api_info, checker):
    vms, pods = size
    counts = generated.count(vms, pods, adoption=adoption)
    print(f"\n### {vms} VMs + {pods} Pods, {adoption} cluster ({result['rounds']} rounds)\n")
    print(f"Cluster: {min(vms, pods)} of the Pods are virt-launcher pods, {counts['tracked_pods']} are tracked "
          f"(hold a MAC of their own); {counts['unindexed_vms']} VMs without index labels, "
          f"plus the decoys (2 VMs, 1 Pod); generated and encoded by the fake API server in {api_info['generated']:.0f} s, "
          f"its peak RSS {api_info['rss']:.0f} MiB.\n")
    print("| mode | concurrency | VM CREATE p50 / p95 ms | floor p50 ms | VM / floor | Pod CREATE (Multus) p50 / p95 ms "
          f"| floor p50 ms | Pod / floor | Pod CREATE (no Multus) p50 ms | trivial p50 ms "
          f"| VM p50 / `{BASELINE}` floor p50 | Pod p50 / `{BASELINE}` floor p50 | VM p50 / `all` floor p50 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    all_floor = {c: statistics.median(t[("vm", "floor-all")]) for m, c, _, t in result["rows"] if m == "all"}
    for mode, concurrency, subject, t in result["rows"]:
        vm, vm_floor = t[("vm", subject)], t[("vm", f"floor-{mode}")]
        pod, pod_floor = t[("pod-multus", subject)], t[("pod-multus", f"floor-{mode}")]
        plain, trivial = t[("pod-plain", subject)], t[("pod-plain", "trivial")]
        base_vm, base_pod = t.get(("vm", f"floor-{BASELINE}")), t.get(("pod-multus", f"floor-{BASELINE}"))
        # (For the baseline mode itself these are its own floor: the same as the floor ratios.)
        against_base = (f"{statistics.median(vm) / statistics.median(base_vm):.3f} | "
                        f"{statistics.median(pod) / statistics.median(base_pod):.3f}" if base_vm and base_pod else "- | -")
        against_all = (f"{statistics.median(vm) / all_floor[concurrency]:.3f}" if all_floor.get(concurrency) else "-")
        label = mode + (" (floor only)" if subject.startswith("floor-") else "")
        print(f"| {label} | {concurrency} | {ms(quantile(vm, .5))} / {ms(quantile(vm, .95))} | {ms(quantile(vm_floor, .5))} "
              f"| {ratio(vm, vm_floor):.2f} | {ms(quantile(pod, .5))} / {ms(quantile(pod, .95))} "
              f"| {ms(quantile(pod_floor, .5))} | {ratio(pod, pod_floor):.2f} | {ms(quantile(plain, .5))} "
              f"| {ms(quantile(trivial, .5))} | {against_base} | {against_all} |")
    print()
    for mode, cold in result["cold"].items():
        late = (f" (its first {cold['timeouts']} attempts timed out at the evaluation budget while the "
                "reflectors loaded: the time is until the first answer)" if cold.get("timeouts") else "")
        line = (f"- `{mode}` alone: cold start (first VM CREATE after policy-server starts) {ms(cold['first'])} ms{late}; "
                f"{cold['watches']} watches, peak RSS {cold['rss']:.0f} MiB")
        if "per_block" in cold:
            b = cold["per_block"]
            line += (f"; the first VM CREATE in each of {len(b)} further blocks (the first of each VM span opens "
                     f"that span's lists, the others find them open): p50 {ms(quantile(b, .5))} ms, "
                     f"p95 {ms(quantile(b, .95))} ms, max {ms(max(b))} ms; with every span in use (all 256 blocks visited): "
                     f"{cold['watches_all_blocks']} watches, peak RSS {cold['rss_all_blocks']:.0f} MiB")
        print(line + ".")
    if "cold_floor" in result and "indexed" in result["cold"]:
        floor_first, cold = result["cold_floor"]["first"], result["cold"]["indexed"]
        b = cold["per_block"]
        print(f"- the `{BASELINE}` floor alone: cold start {ms(floor_first)} ms. `indexed`'s first admissions over it: "
              f"the cold start {cold['first'] / floor_first:.3f}x, the first in each further block p50 "
              f"{quantile(b, .5) / floor_first:.3f}x, max {max(b) / floor_first:.3f}x.")
    for group, rss, watches in result["servers"]:
        what = ("Every mode, the floors and the trivial policy" if len(group) > 1
                else f"`{group[0]}`, its floor{' and the pods-tracked floor' if group[0] == 'indexed' else ''} "
                     "and the trivial policy")
        print(f"- {what} in one policy-server, during the measurement: {watches} watches, peak RSS {rss:.0f} MiB.")
    for (mode, case), (walked, total) in sorted(checker.walked.items()):
        print(f"- `{mode}` {case}: {walked} of {total} MACs are the third address after the one the search starts "
              f"at (expected {total}: the policy walked past the decoys there, one in the block's lists, one in each "
              "legacy list; 0 means its search starts elsewhere than this script predicts, see "
              "protocol.search_start; the check that no allocated MAC is held passed either way).")
    checker.walked.clear()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policy-server", default="policy-server")
    parser.add_argument("--policy", required=True)
    parser.add_argument("--floor", required=True)
    parser.add_argument("--sizes", default="quick",
                        help="VMS:PODS,... (PODS counts the VMs' virt-launcher pods), or a preset: "
                             + ", ".join(f"{k} = {v}" for k, v in SIZE_PRESETS.items()))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--adoptions", default="adopted,half", help="adopted, half, none (kmp.synthetic)")
    parser.add_argument("--half-modes", default="indexed",
                        help="the modes run on a half-adopted cluster (among --modes; the pods-tracked "
                             "floor is measured beside indexed there too)")
    parser.add_argument("--floor-only-modes", default="",
                        help="modes measured by their floor alone (a policy whose settings refuse them)")
    parser.add_argument("--seed", default="",
                        help="the policies' and floors' `seed` setting; empty (the default): each admission "
                             "that allocates reads the kube-system Namespace's uid (behaviour.md section 6)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--server-per-mode", action="store_true",
                        help="measure each mode in its own policy-server (holding only that mode's reflectors) "
                             "instead of one server holding every mode's: less memory at 100,000 VMs")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep-workdir", action="store_true",
                        help="keep each cluster's work directory (policies, policy-server and fake API server logs; "
                             "FAKE_APISERVER_LOG=1 logs every request)")
    parser.add_argument("--sigstore-trust-config", default=os.environ.get("SIGSTORE_TRUST_CONFIG"))
    args = parser.parse_args()
    global SEED_SETTING, SEED
    SEED_SETTING = args.seed
    SEED = args.seed or generated.KUBE_SYSTEM_UID
    args.policy, args.floor = os.path.abspath(args.policy), os.path.abspath(args.floor)
    args.modes = [m for m in args.modes.split(",") if m]
    args.floor_only_modes = {m for m in args.floor_only_modes.split(",") if m}
    half_modes = [m for m in args.modes if m in args.half_modes.split(",")]
    sizes = [tuple(int(n) for n in s.split(":")) for s in SIZE_PRESETS.get(args.sizes, args.sizes).split(",")]
    adoptions = [a for a in args.adoptions.split(",") if a]
    for unknown in set(args.modes) - set(MODES):
        raise SystemExit(f"bench-engine: unknown mode {unknown}")
    for unknown in set(adoptions) - set(generated.ADOPTIONS):
        raise SystemExit(f"bench-engine: unknown adoption {unknown}")
    print(f"policy-server: {args.policy_server}, {args.workers} workers, {os.cpu_count()} CPUs, "
          f"{args.rounds} rounds per case for the largest cluster, up to 5x for smaller ones; pods with "
          "~620 B of metadata, 5% holding a Multus MAC", flush=True)
    started = time.monotonic()
    extra, decoy_macs, decoy_ends = decoys()
    for size in sizes:
        held = generated.held_macs(*size) | decoy_macs
        for adoption in adoptions:
            modes = args.modes if adoption == "adopted" else half_modes
            if not modes:
                continue
            print(f"bench-engine: {size[0]} VMs + {size[1]} Pods, {adoption}: generating the cluster",
                  file=sys.stderr, flush=True)
            with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
                workdir = tmp
                if args.keep_workdir:
                    workdir = tempfile.mkdtemp(prefix="bench-engine-")
                    print(f"bench-engine: logs in {workdir}", file=sys.stderr, flush=True)
                api = FakeApiServer(workdir, *size, adoption, extra)
                try:
                    checker = Checker(held, decoy_ends)
                    baseline = BASELINE if BASELINE in args.modes else None
                    result = bench_cluster(args, workdir, api, modes, rounds_for(args, size[0], sizes), checker,
                                           baseline)
                    api_info = {"generated": api.generated_in, "rss": api.rss_mib()}
                finally:
                    api.stop()
            report(size, adoption, result, api_info, checker)
            print(f"\n(elapsed so far: {time.monotonic() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
