"""make bench-cluster: the policy (policy-server 1.35) and Kubemacpool v0.51.1, one at a time, on
the same test API server and etcd (tests/cluster/cluster.sh), with a cluster loaded through the API
server first.

    python3 -m kmp.bench.bench --state STATE_DIR --vms N --pods M [--multus-share 0.05] [--samples 100] [--out FILE]

STATE_DIR is a running cluster (cluster.sh up). The load: N VMs and round(M * share) Multus Pods
created through the policy's default webhooks (so they carry what the policy writes), 8 clients;
the other Pods, without networks, in a namespace neither system selects. Then, for each system
(the policy with inventory indexed, pods-tracked and all; Kubemacpool):

(indexed is measured first right after a policy-server restart, its blocks' watches cold, and
again at the end, warm; in the cold pass the creates that are the first in their block, which
open its two watches, are also summed apart, beside the first create of each other mode, which
opens that mode's watches)
- start-up window: process start to the first answered admission (a server-side dry-run VM create
  polled every 50 ms comes back with a MAC), and for Kubemacpool process start to /readyz (its
  pool rebuilt from every VM and Pod);
- SAMPLES sequential VM CREATEs and Multus Pod CREATEs, timed by the client, and the API server's
  apiserver_admission_webhook_admission_duration_seconds for the webhook (delta of /metrics,
  quantiles interpolated in its buckets);
- RSS of the system's process and of kube-apiserver;
- 200 VMs created by 8 parallel clients: MACs collided among them and with the cluster's;
- a restart under load (indexed, warm; Kubemacpool): VM CREATEs from 4 clients while the process
  is stopped and started again: how many were refused, over how long.
Every answer is checked: created, a valid MAC in the range on every interface, distinct from every
MAC the bench has seen. Prints a JSON document (and writes it to --out).
"""

import argparse
import collections
import http.client
import json
import os
import re
import ssl
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import kmp

CLUSTER_SH = os.path.join(kmp.TESTS, "cluster", "cluster.sh")
KMP_SH = os.path.join(kmp.TESTS, "cluster", "kubemacpool", "kubemacpool.sh")
MAC_RE = re.compile(r"^02(:[0-9a-f]{2}){5}$")
VM_NS, MULTUS_NS, PLAIN_NS = "bench-vms", "bench-multus", "bench-plain"


def env_of(state):
    env = {}
    for line in open(os.path.join(state, "env")):
        k, _, v = line.strip().partition("=")
        env[k] = v
    return env


class Api:
    def __init__(self, state, env):
        self.port = int(env["API_PORT"])
        ctx = ssl.create_default_context(cafile=os.path.join(state, "pki", "ca.crt"))
        ctx.load_cert_chain(os.path.join(state, "pki", "admin.crt"), os.path.join(state, "pki", "admin.key"))
        self.ctx = ctx
        self.local = threading.local()

    def req(self, method, path, body=None):
        for attempt in range(2):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=60)
            try:
                data = json.dumps(body).encode() if body is not None else None
                conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
                r = conn.getresponse()
                raw = r.read()
                return r.status, raw
            except (http.client.HTTPException, OSError):
                self.local.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def json(self, method, path, body=None):
        status, raw = self.req(method, path, body)
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, {"raw": raw.decode(errors="replace")}


def vm(ns, name):
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name, "namespace": ns},
            "spec": {"runStrategy": "Halted", "template": {"spec": {
                "domain": {"devices": {"interfaces": [{"name": "default", "masquerade": {}}]},
                           "resources": {"requests": {"memory": "64Mi"}}},
                "networks": [{"name": "default", "pod": {}}]}}}}


def pod(ns, name, networks=None):
    meta = {"name": name, "namespace": ns}
    if networks is not None:
        meta["annotations"] = {"k8s.v1.cni.cncf.io/networks": json.dumps(networks)}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}}


def vm_path(ns, dry=False):
    return f"/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachines" + ("?dryRun=All" if dry else "")


def pod_path(ns):
    return f"/api/v1/namespaces/{ns}/pods"


def vm_macs(obj):
    return [i.get("macAddress") for i in obj["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"]]


def pod_macs(obj):
    return [n.get("mac") for n in json.loads(obj["metadata"]["annotations"]["k8s.v1.cni.cncf.io/networks"])]


def refusal_kind(status, obj):
    """What a refused create ran into, in a few words: the JSON keeps only the first problems'
    texts, so every problem is also counted by where it happened and by this."""
    text = str(obj)
    if "context deadline exceeded" in text:
        return "webhook timeout"
    if "exceeded the allowed execution time" in text:
        return "evaluation budget exceeded"
    if "connection refused" in text:
        return "webhook refused the connection"
    return f"HTTP {status}"


def problem_where(who):
    """`policy all vm p-all-lat-0` -> `policy all vm`: the system and the kind, not the object."""
    head, _, last = who.rpartition(" ")
    return head if head and any(c.isdigit() for c in last) else who


class Checker:
    """Every answer: created, a valid MAC on every interface, none seen before."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi
        self.seen = {}
        # re-entrant: check() calls problem() while it holds it
        self.lock = threading.RLock()
        self.problems = []
        self.problem_kinds = collections.Counter()

    def problem(self, who, kind, text):
        with self.lock:
            self.problems.append(f"{who}: {text}")
            self.problem_kinds[f"{problem_where(who)}: {kind}"] += 1

    def check(self, status, obj, macs_of, who, expect_unique=True):
        if status != 201:
            self.problem(who, refusal_kind(status, obj), f"HTTP {status}: {str(obj)[:300]}")
            return []
        macs = macs_of(obj)
        dup = []
        with self.lock:
            for m in macs:
                if not m or not MAC_RE.match(m) or not (self.lo <= int(m.replace(":", ""), 16) <= self.hi):
                    self.problem(who, "invalid or missing MAC", f"invalid or missing MAC {m!r}")
                    continue
                if m in self.seen:
                    dup.append((m, self.seen[m]))
                    if expect_unique:
                        self.problem(who, "duplicate MAC", f"MAC {m} also held by {self.seen[m]}")
                else:
                    self.seen[m] = who
        return dup


def sh(*args, env=None):
    return subprocess.run(args, check=True, capture_output=True, text=True, env=env).stdout


def metrics_hist(api, webhook):
    """apiserver_admission_webhook_admission_duration_seconds{name=webhook, operation=CREATE, type=admit}: {le: count}."""
    _, raw = api.req("GET", "/metrics")
    out = {}
    for line in raw.decode().splitlines():
        if not line.startswith("apiserver_admission_webhook_admission_duration_seconds_bucket{"):
            continue
        if f'name="{webhook}"' not in line or 'operation="CREATE"' not in line or 'type="admit"' not in line:
            continue
        le = re.search(r'le="([^"]+)"', line).group(1)
        out[float(le)] = out.get(float(le), 0) + float(line.rsplit(" ", 1)[1])
    return out


def hist_quantiles(before, after, qs=(0.5, 0.95)):
    les = sorted(after)
    cum = [after[le] - before.get(le, 0) for le in les]
    total = cum[-1] if cum else 0
    res = {}
    for q in qs:
        if not total:
            res[q] = None
            continue
        rank = q * total
        prev_le, prev_c = 0.0, 0.0
        for le, c in zip(les, cum):
            if c >= rank:
                if le == float("inf"):
                    res[q] = prev_le
                else:
                    res[q] = prev_le + (le - prev_le) * ((rank - prev_c) / (c - prev_c) if c > prev_c else 1)
                break
            prev_le, prev_c = le, c
    return {"count": total, "p50_ms": round(res[0.5] * 1000, 2) if res[0.5] is not None else None,
            "p95_ms": round(res[0.95] * 1000, 2) if res[0.95] is not None else None}


def pct(xs, q):
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))], 2)


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def pid_of(state, name):
    return int(open(os.path.join(state, "pids", name + ".pid")).read())


def block_of(mac):
    """The MAC's block under `indexed` (behaviour.md 7.1): its fifth octet."""
    return mac.split(":")[4].lower()


def first_answer(api, deadline_s=300, opened=None):
    """Polls a dry-run VM create every 50 ms until it comes back with a MAC; returns the time.time().
    `opened`: a set the answer's block is added to (its watches are open from then on)."""
    end = time.time() + deadline_s
    while time.time() < end:
        status, obj = api.json("POST", vm_path("kmp-probe", dry=True), vm("kmp-probe", "bench-probe"))
        mac = vm_macs(obj)[0] if status == 201 else None
        if mac:
            if opened is not None:
                opened.add(block_of(mac))
            return time.time()
        time.sleep(0.05)
    raise SystemExit("bench: no answered admission within %d s" % deadline_s)


def parallel(n, fn, items):
    with ThreadPoolExecutor(n) as ex:
        return list(ex.map(fn, items))


def derive_variants(state, env, modes):
    """policy-server's policies.yml with every inventory mode as a variant (one process; the
    webhooks pick the mode), pointing the webhooks at policy-server-1."""
    variants = ["--variant", "reject:duplicateMacs=reject"]
    for m in modes:
        if m != "indexed":
            variants += ["--variant", f"{m.replace('-', '')}:inventory={m}"]
    sh(*kmp.command("cluster.derive", "--manifests", os.path.join(kmp.REPO, "manifests"),
                    "--module", env["KMP_POLICY_MODULE"], "--url", f"https://127.0.0.1:{env['PS1_PORT']}",
                    "--ca-bundle", os.path.join(state, "pki", "ca.crt"), "--out", os.path.join(state, "derived"),
                    *variants), env=kmp.environ())


def names(mode):
    """The (Pods, VMs) policy names of an inventory mode's variant."""
    suffix = "" if mode == "indexed" else "-" + mode.replace("-", "")
    return f"kubemacpool-pods-opt-in{suffix}", f"kubemacpool-vms-opt-out{suffix}"


def load(api, checker, vms, pods, multus):
    """The cluster's load, through the webhooks installed: VMS VMs, MULTUS Multus Pods and the
    other Pods, without networks, in a namespace neither system selects. Returns its seconds."""
    for ns, labels in ((VM_NS, {}), (MULTUS_NS, {"mutatepods.kubemacpool.io": "allocate"}), (PLAIN_NS, {})):
        api.json("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}})
        api.json("POST", f"/api/v1/namespaces/{ns}/serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}})
    t0 = time.time()
    for i, (status, obj) in enumerate(parallel(8, lambda i: api.json("POST", vm_path(VM_NS), vm(VM_NS, f"load-{i}")), range(vms))):
        checker.check(status, obj, vm_macs, f"load vm {i}")
    for i, (status, obj) in enumerate(parallel(8, lambda i: api.json("POST", pod_path(MULTUS_NS), pod(MULTUS_NS, f"load-{i}", [{"name": "blue"}])), range(multus))):
        checker.check(status, obj, pod_macs, f"load pod {i}")
    for status, obj in parallel(8, lambda i: api.json("POST", pod_path(PLAIN_NS), pod(PLAIN_NS, f"load-{i}")), range(pods - multus)):
        if status != 201:
            checker.problem("load plain pod", f"HTTP {status}", f"HTTP {status}")
    return round(time.time() - t0, 1)


def measure(api, checker, system, tag, vm_webhook, pod_webhook, samples, opened=None):
    """`opened`: under `indexed`, the blocks whose watches this policy-server has open; the
    creates that are the first in their block (that open its watches) are also summed apart."""
    r = {}
    # sequential creates, client-timed, and the API server's view of the webhook
    for kind, webhook in (("vm", vm_webhook), ("pod", pod_webhook)):
        before = metrics_hist(api, webhook)
        times, first_in_block = [], []
        for i in range(samples):
            t0 = time.perf_counter()
            if kind == "vm":
                status, obj = api.json("POST", vm_path(VM_NS), vm(VM_NS, f"{tag}-lat-{i}"))
                macs_of = vm_macs
            else:
                status, obj = api.json("POST", pod_path(MULTUS_NS), pod(MULTUS_NS, f"{tag}-lat-{i}", [{"name": "blue"}]))
                macs_of = pod_macs
            times.append((time.perf_counter() - t0) * 1000)
            checker.check(status, obj, macs_of, f"{system} {kind} {tag}-lat-{i}")
            macs = macs_of(obj) if opened is not None and status == 201 else None
            if macs and macs[0]:
                block = block_of(macs[0])
                if block not in opened:
                    opened.add(block)
                    first_in_block.append(times[-1])
        r[f"{kind}_create_client"] = {"p50_ms": pct(times, 0.5), "p95_ms": pct(times, 0.95), "n": samples,
                                      "first_ms": round(times[0], 2)}
        if first_in_block:
            r[f"{kind}_create_first_in_block"] = {"p50_ms": pct(first_in_block, 0.5), "p95_ms": pct(first_in_block, 0.95),
                                                  "max_ms": round(max(first_in_block), 2), "n": len(first_in_block)}
        r[f"{kind}_create_webhook"] = hist_quantiles(before, metrics_hist(api, webhook))
    # 200 VMs by 8 parallel clients
    def one(i):
        return api.json("POST", vm_path(VM_NS), vm(VM_NS, f"{tag}-burst-{i}"))
    t0 = time.perf_counter()
    answers = parallel(8, one, range(200))
    r["burst_seconds"] = round(time.perf_counter() - t0, 2)
    collided = 0
    for i, (status, obj) in enumerate(answers):
        collided += len(checker.check(status, obj, vm_macs, f"{system} vm {tag}-burst-{i}", expect_unique=True))
    r["burst_200_vms_8_clients_collisions"] = collided
    return r


def restart_under_load(api, checker, system, tag, restart, clients=4, limit_s=180):
    """VM CREATEs from CLIENTS loops while RESTART runs: how many were refused, over how long."""
    stop = threading.Event()
    answers = []
    lock = threading.Lock()
    t_end = time.time() + limit_s

    def loop(c):
        i = 0
        while not stop.is_set() and time.time() < t_end:
            name = f"{tag}-rs-{c}-{i}"
            status, obj = api.json("POST", vm_path(VM_NS), vm(VM_NS, name))
            with lock:
                answers.append((time.time(), status, obj, name))
            i += 1

    threads = [threading.Thread(target=loop, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    time.sleep(2)
    t0 = time.time()
    restart()
    t1 = time.time()
    time.sleep(2)
    stop.set()
    for t in threads:
        t.join()
    refused = [a for a in answers if a[1] != 201]
    for _, status, obj, name in answers:
        if status == 201:
            checker.check(status, obj, vm_macs, f"{system} vm {name}")
    return {"creates": len(answers), "refused": len(refused), "restart_seconds": round(t1 - t0, 2),
            "refused_window_seconds": round(refused[-1][0] - refused[0][0], 2) if refused else 0}


def kmp_fatal(log, offset):
    """The fatal error a crashed manager's log ends with (after offset), with the first and the
    outermost frame of Kubemacpool's own code in the crashing goroutine: function, file:line."""
    with open(log, errors="replace") as f:
        f.seek(offset)
        tail = f.read().splitlines()
    at = next((i for i, line in enumerate(tail) if line.startswith(("fatal error", "panic:"))), None)
    if at is None:
        return "exited"
    # another goroutine's log line can land between "fatal error: " and its message
    message = re.search(r"concurrent map [a-z ]+", "\n".join(tail[at:at + 3]))
    fatal = f"fatal error: {message.group(0).strip()}" if message else tail[at][:200]
    goroutine = []
    for line in tail[at:]:
        if goroutine and not line.strip():
            break
        if line.startswith("goroutine ") or goroutine:
            goroutine.append(line)
    frames = [(re.sub(r" in goroutine \d+$", "", line.rsplit("/", 1)[-1].split("(0x")[0]),
               goroutine[i + 1].strip().split(" ")[0].rsplit("/", 1)[-1])
              for i, line in enumerate(goroutine[:-1])
              if "kubemacpool/pkg/" in line and re.search(r"kubemacpool(@[^/]+)?/pkg/", goroutine[i + 1])]
    if frames:
        fatal += f" in {frames[0][0]} at {frames[0][1]}"
        if len(frames) > 1:
            fatal += f", from {frames[-1][0]} at {frames[-1][1]}"
    return fatal


def kmp_start_until_up(state, crashes, attempts=5):
    """Starts Kubemacpool's manager; a manager that dies before /readyz is started again, as its
    Deployment's restartPolicy would, and the fatal error its log ends with is kept."""
    log = os.path.join(state, "logs", "kubemacpool.log")
    for _ in range(attempts):
        offset = os.path.getsize(log) if os.path.exists(log) else 0
        try:
            sh(KMP_SH, "start", state)
            return
        except subprocess.CalledProcessError:
            crashes.append(kmp_fatal(log, offset))
    raise SystemExit(f"bench: Kubemacpool did not come back in {attempts} starts: {crashes}")


def kmp_restart(state, crashes):
    sh(KMP_SH, "stop", state)
    kmp_start_until_up(state, crashes)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--state", required=True)
    ap.add_argument("--vms", type=int, default=1000)
    ap.add_argument("--pods", type=int, default=10000)
    ap.add_argument("--multus-share", type=float, default=0.05)
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--modes", default="indexed,pods-tracked,all")
    ap.add_argument("--out")
    args = ap.parse_args()
    state = os.path.abspath(args.state)
    env = env_of(state)
    api = Api(state, env)
    checker = Checker(0x020000000000, 0x02FFFFFFFFFF)
    result = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": f"{os.cpu_count()} cores, {os.uname().machine}",
              "vms": args.vms, "pods": args.pods, "multus_pods": round(args.pods * args.multus_share), "systems": {}}

    modes = [m for m in args.modes.split(",") if m]
    derive_variants(state, env, modes)

    opened = set()  # the blocks whose watches policy-server-1 has open

    def restart_policy_server():
        sh(CLUSTER_SH, "stop", "policy-server-1", state)
        opened.clear()
        t0 = time.time()
        proc = subprocess.Popen([CLUSTER_SH, "start", "policy-server-1", state], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        t1 = first_answer(api, opened=opened)
        if proc.wait() != 0:
            raise SystemExit("bench: policy-server did not start: " + proc.stderr.read().decode())
        return round((t1 - t0) * 1000)

    sh(CLUSTER_SH, "webhooks", state, *names("indexed"))
    startup = restart_policy_server()  # the new policies.yml (mode variants)
    result["load_seconds"] = load(api, checker, args.vms, args.pods, result["multus_pods"])

    for mode in modes:
        pods_name, vms_name = names(mode)
        sh(CLUSTER_SH, "webhooks", state, pods_name, vms_name)
        if mode == modes[0]:
            result["policy_startup_ms"] = startup
            restart = restart_policy_server()  # now with the cluster loaded
            result["policy_startup_loaded_ms"] = restart
        r = measure(api, checker, f"policy {mode}", f"p-{mode}", f"clusterwide-{vms_name}.kubewarden.admission",
                    f"clusterwide-{pods_name}.kubewarden.admission", args.samples,
                    opened if mode == "indexed" == modes[0] else None)
        r["rss_kib"] = rss_kib(pid_of(state, "policy-server-1"))
        r["apiserver_rss_kib"] = rss_kib(pid_of(state, "apiserver"))
        result["systems"][f"policy {mode}"] = r

    # indexed again, its blocks' watches now warm (the first pass ran right after a restart)
    if "indexed" in modes:
        pods_name, vms_name = names("indexed")
        sh(CLUSTER_SH, "webhooks", state, pods_name, vms_name)
        r = measure(api, checker, "policy indexed warm", "p-indexed-warm", f"clusterwide-{vms_name}.kubewarden.admission",
                    f"clusterwide-{pods_name}.kubewarden.admission", args.samples)
        r["rss_kib"] = rss_kib(pid_of(state, "policy-server-1"))
        r["apiserver_rss_kib"] = rss_kib(pid_of(state, "apiserver"))
        result["systems"]["policy indexed, warm"] = r
        r["restart_under_load"] = restart_under_load(api, checker, "policy indexed restart", "p-restart",
                                                     lambda: sh(CLUSTER_SH, "restart", "policy-server-1", state))

    # Kubemacpool
    sh(CLUSTER_SH, "stop", "policy-server-1", state)
    # its webhook configuration goes in before the manager starts; wait for the manager's start
    start_ns_file = os.path.join(state, "kubemacpool", "start-ns")
    if os.path.exists(start_ns_file):
        os.remove(start_ns_file)
    t_up = time.time()
    proc = subprocess.Popen([KMP_SH, "up", state], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while not os.path.exists(start_ns_file) and time.time() < t_up + 120:
        time.sleep(0.01)
    t1 = first_answer(api)
    start_s = int(open(start_ns_file).read()) / 1e9
    startup_crashes = []
    if proc.wait() != 0:
        error = proc.stderr.read().decode()
        if "the manager exited" not in error:
            raise SystemExit("bench: Kubemacpool did not start: " + error)
        # it crashed while rebuilding its pool (seen at 1k VMs: concurrent map read and map write)
        startup_crashes.append(kmp_fatal(os.path.join(state, "logs", "kubemacpool.log"), 0))
        kmp_start_until_up(state, startup_crashes)
    ready_ns = int(open(start_ns_file).read()) + int(open(os.path.join(state, "kubemacpool", "start-ready-ms")).read()) * 1000000
    # /readyz of the start that came up, counted from the first process start
    r = {"startup_first_answer_ms": round((t1 - start_s) * 1000),
         "startup_readyz_ms": round(ready_ns / 1e6 - start_s * 1000),
         "startup_crashes": startup_crashes}
    r.update(measure(api, checker, "kubemacpool", "k", "mutatevirtualmachines.kubemacpool.io", "mutatepods.kubemacpool.io", args.samples))
    r["rss_kib"] = rss_kib(pid_of(state, "kubemacpool"))
    r["apiserver_rss_kib"] = rss_kib(pid_of(state, "apiserver"))
    result["systems"]["kubemacpool"] = r
    crashes = []
    r["restart_under_load"] = restart_under_load(api, checker, "kubemacpool restart", "k-restart",
                                                 lambda: kmp_restart(state, crashes))
    r["restart_under_load"]["crashes"] = crashes
    sh(KMP_SH, "down", state)

    result["macs_checked"] = len(checker.seen)
    result["problems"] = checker.problems[:20]
    result["problem_count"] = len(checker.problems)
    result["problem_kinds"] = dict(sorted(checker.problem_kinds.items()))
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        open(args.out, "w").write(text + "\n")
    raise SystemExit(1 if checker.problems else 0)


if __name__ == "__main__":
    main()
