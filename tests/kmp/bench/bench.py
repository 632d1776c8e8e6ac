"""make bench-cluster: the policy (policy-server 1.35), the engine floor and a trivial policy in the
same policy-server, and Kubemacpool v0.51.1, one at a time, on the same test API server and etcd
(tests/cluster/cluster.sh), with a cluster loaded through the API server first.

    python3 -m kmp.bench.bench --state STATE_DIR --vms N --pods M [--multus-share 0.05] [--samples 100]
        [--modes indexed,pods-tracked,all] [--floor target/bench-floor.wasm] [--out FILE]

STATE_DIR is a running cluster (cluster.sh up). The load: N VMs and round(M * share) Multus Pods
created through the policy's default webhooks (so they carry what the policy writes), 8 clients;
the other Pods, without networks, in a namespace neither system selects.

The systems. The policy with inventory indexed, pods-tracked and all (variants of the shipped
policies, one policy-server; the webhooks pick the mode). Beside it, with the same webhooks and
selectors (kmp.cluster.derive --variant-module), the engine-floor guest (FLOOR, bench-guests: with
`inventory: indexed` it makes the seed get_resource and the same span list calls as the policy,
reads nothing of them and answers with a mutated object of the policy's shape, a fixed MAC per
block) as "engine floor", and the same module with `inventory: none` (no host call, accepts) as
"trivial": so policy / floor is the policy's own share of an admission, floor / trivial what the
calls cost in the engine, trivial / Kubemacpool what Kubewarden costs by itself. The floor's and
trivial's objects go to namespaces of their own (bench-engine-vms, bench-engine-multus) and are
deleted after each of their passes: their MACs are not distinct (trivial writes none) and are not
checked, and the policy's lists (the floor's span labels, trivial's unindexed VMs in the legacy
list) must not carry them. Then Kubemacpool.

Passes, each timed by the client (p50/p95) and by the API server's
apiserver_admission_webhook_admission_duration_seconds for the webhook (delta of /metrics,
quantiles interpolated in its buckets), each counting its refused creates:
- after a restart (policy indexed, engine floor, trivial): policy-server restarted with nothing
  primed before each of: SAMPLES sequential VM CREATEs, SAMPLES sequential Multus Pod CREATEs,
  and the burst (below); the policy's creates that opened a span (its VM span or its Pod span,
  from the answer's block) are also summed apart;
- warm (every system): for the policy-server, every span primed first (kmp.cluster.warm_spans
  against the replica: 64 VM spans, 16 Pod spans, the two legacy lists; the floor makes the same
  calls, so it shares these watches); SAMPLES sequential VM CREATEs and Multus Pod CREATEs; the
  burst. pods-tracked and all open their own watches at their first create (`first_ms`);
- the burst: 200 VMs created by 8 parallel clients: seconds, MACs collided among them and with
  the cluster's, refused;
- start-up window: process start to the first answered admission (a server-side dry-run VM create
  polled every 50 ms comes back with a MAC; empty and loaded cluster), and for Kubemacpool process
  start to /readyz (its pool rebuilt from every VM and Pod); after a restart, start to readiness;
- RSS of the system's process and of kube-apiserver;
- a restart under load (policy indexed, warm; Kubemacpool): VM CREATEs from 4 clients while the
  process is stopped and started again: how many were refused, over how long;
- watches and connections per replica (policy-server-1; Kubemacpool's manager beside it):
  after the indexed warm pass, at the end of the policy-server passes (every mode's watches), at
  the end of the run (after its restart under load): the WATCH requests kube-apiserver holds
  (apiserver_longrunning_requests, less those it holds with no policy-server or Kubemacpool
  running), the reflectors policy-server's log says it created since its start, and the
  established TCP connections of the process to the API server (through apiproxy for
  policy-server; /proc/PID/fd and /proc/PID/net/tcp). Target: at most 82 and 82.
Every answer of the policy and Kubemacpool is checked: created, a valid MAC in the range on every
interface, distinct from every MAC the bench has seen; every refused create of any system is a
problem. Prints a JSON document (and writes it to --out); table.py reads it.
"""

import argparse
import collections
import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import kmp
from kmp import protocol

CLUSTER_SH = os.path.join(kmp.TESTS, "cluster", "cluster.sh")
KMP_SH = os.path.join(kmp.TESTS, "cluster", "kubemacpool", "kubemacpool.sh")
MAC_RE = re.compile(r"^02(:[0-9a-f]{2}){5}$")
VM_NS, MULTUS_NS, PLAIN_NS = "bench-vms", "bench-multus", "bench-plain"
# the engine floor's and trivial's objects: MACs not distinct (or none), deleted after each pass
ENGINE_VM_NS, ENGINE_MULTUS_NS = "bench-engine-vms", "bench-engine-multus"
# the policy-server systems beside the policy: name -> (variant suffix, settings)
ENGINES = {"engine floor": ("floor", "inventory=indexed"), "trivial": ("trivial", "inventory=none")}
WATCH_TARGET = 82  # at most this many watches and connections per replica (behaviour.md 7.1)


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


def pod_path(ns, dry=False):
    return f"/api/v1/namespaces/{ns}/pods" + ("?dryRun=All" if dry else "")


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


def spans_of(mac):
    """The index watches an `indexed` admission that allocated `mac` needed: the VM span and the
    Pod span of its block (the policy's span labels, kmp.protocol)."""
    block = block_of(mac)
    return {protocol.span_label("VirtualMachine", block), protocol.span_label("Pod", block)}


def first_answer(api, deadline_s=300, opened=None):
    """Polls a dry-run VM create every 50 ms until it comes back with a MAC; returns the time.time().
    `opened`: a set the answer's spans are added to (their watches are open from then on)."""
    end = time.time() + deadline_s
    while time.time() < end:
        status, obj = api.json("POST", vm_path("kmp-probe", dry=True), vm("kmp-probe", "bench-probe"))
        mac = vm_macs(obj)[0] if status == 201 else None
        if mac:
            if opened is not None:
                opened.update(spans_of(mac))
            return time.time()
        time.sleep(0.05)
    raise SystemExit("bench: no answered admission within %d s" % deadline_s)


def parallel(n, fn, items):
    with ThreadPoolExecutor(n) as ex:
        return list(ex.map(fn, items))


def derive_variants(state, env, modes, floor):
    """policy-server's policies.yml with every inventory mode as a variant (one process; the
    webhooks pick the mode), and the engine floor and trivial as variants of their own module
    (FLOOR, copied into the state so that a rebuild does not change it under the run), pointing
    the webhooks at policy-server-1."""
    variants = ["--variant", "reject:duplicateMacs=reject"]
    for m in modes:
        if m != "indexed":
            variants += ["--variant", f"{m.replace('-', '')}:inventory={m}"]
    if floor:
        module = os.path.join(state, "bench-floor.wasm")
        shutil.copyfile(floor, module)
        for suffix, settings in ENGINES.values():
            variants += ["--variant", f"{suffix}:{settings}", "--variant-module", f"{suffix}=file://{module}"]
    sh(*kmp.command("cluster.derive", "--manifests", os.path.join(kmp.REPO, "manifests"),
                    "--module", env["KMP_POLICY_MODULE"], "--url", f"https://127.0.0.1:{env['PS1_PORT']}",
                    "--ca-bundle", os.path.join(state, "pki", "ca.crt"), "--out", os.path.join(state, "derived"),
                    *variants), env=kmp.environ())


def variant_names(suffix):
    """The (Pods, VMs) policy names of a variant (`` for the shipped policies)."""
    return f"kubemacpool-pods-opt-in{'-' + suffix if suffix else ''}", f"kubemacpool-vms-opt-out{'-' + suffix if suffix else ''}"


def names(mode):
    """The (Pods, VMs) policy names of an inventory mode's variant."""
    return variant_names("" if mode == "indexed" else mode.replace("-", ""))


def webhook_of(policy):
    return f"clusterwide-{policy}.kubewarden.admission"


def webhook_calls(api):
    """How many CREATE admissions the API server sent each webhook (the _count of
    apiserver_admission_webhook_admission_duration_seconds, by webhook name)."""
    _, raw = api.req("GET", "/metrics")
    calls = collections.Counter()
    for line in raw.decode().splitlines():
        if line.startswith("apiserver_admission_webhook_admission_duration_seconds_count{") and 'operation="CREATE"' in line:
            calls[re.search(r'name="([^"]+)"', line).group(1)] += float(line.rsplit(" ", 1)[1])
    return calls


def install_webhooks(api, state, policies, deadline_s=60):
    """Exactly these policies' webhook configurations (STATE/derived/webhooks), as `cluster.sh
    webhooks` installs them, for policies that accept its probe (an invalid MAC, which the
    engine floor and trivial admit): once a dry-run VM CREATE and a dry-run Multus Pod CREATE in
    the probe namespace reach these webhooks and no other kubewarden webhook."""
    keep = set()
    for policy in policies:
        with open(os.path.join(state, "derived", "webhooks", policy + ".json")) as f:
            conf = json.load(f)
        plural = conf["kind"].lower() + "s"
        base, name = f"/apis/admissionregistration.k8s.io/v1/{plural}", conf["metadata"]["name"]
        status, old = api.json("GET", f"{base}/{name}")
        if status == 200:
            conf["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            status, obj = api.json("PUT", f"{base}/{name}", conf)
        else:
            status, obj = api.json("POST", base, conf)
        if status not in (200, 201):
            raise SystemExit(f"bench: webhook configuration {name}: HTTP {status}: {str(obj)[:300]}")
        keep.add((plural, name))
    for plural in ("mutatingwebhookconfigurations", "validatingwebhookconfigurations"):
        base = f"/apis/admissionregistration.k8s.io/v1/{plural}"
        _, listed = api.json("GET", f"{base}?labelSelector=app.kubernetes.io%2Fpart-of%3Dkubewarden")
        for item in listed.get("items", []):
            if (plural, item["metadata"]["name"]) not in keep:
                api.json("DELETE", f"{base}/{item['metadata']['name']}")
    wanted = {webhook_of(p) for p in policies}
    end = time.time() + deadline_s
    while time.time() < end:
        before = webhook_calls(api)
        api.json("POST", vm_path("kmp-probe", dry=True), vm("kmp-probe", "bench-probe"))
        api.json("POST", pod_path("kmp-probe", dry=True), pod("kmp-probe", "bench-probe", [{"name": "blue"}]))
        after = webhook_calls(api)
        called = {name for name in after if after[name] > before.get(name, 0) and name.endswith(".kubewarden.admission")}
        if called == wanted:
            return
        time.sleep(0.2)
    raise SystemExit(f"bench: the API server does not call exactly {sorted(wanted)} after {deadline_s} s")


def clear_engine_namespaces(api, deadline_s=120):
    """Deletes the engine floor's and trivial's VMs and Pods (unscheduled Pods go at once)."""
    paths = (vm_path(ENGINE_VM_NS), pod_path(ENGINE_MULTUS_NS))
    for path in paths:
        status, obj = api.json("DELETE", path)
        if status != 200:
            raise SystemExit(f"bench: DELETE {path}: HTTP {status}: {str(obj)[:300]}")
    end = time.time() + deadline_s
    while time.time() < end:
        if all(not api.json("GET", path + "?limit=1")[1].get("items") for path in paths):
            return
        time.sleep(0.5)
    raise SystemExit(f"bench: {ENGINE_VM_NS} and {ENGINE_MULTUS_NS} not empty after {deadline_s} s")


def make_namespaces(api, namespaces):
    for ns, labels in namespaces:
        api.json("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}})
        api.json("POST", f"/api/v1/namespaces/{ns}/serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}})


def load(api, checker, vms, pods, multus):
    """The cluster's load, through the webhooks installed: VMS VMs, MULTUS Multus Pods and the
    other Pods, without networks, in a namespace neither system selects. Returns its seconds."""
    make_namespaces(api, ((VM_NS, {}), (MULTUS_NS, {"mutatepods.kubemacpool.io": "allocate"}), (PLAIN_NS, {}),
                          (ENGINE_VM_NS, {}), (ENGINE_MULTUS_NS, {"mutatepods.kubemacpool.io": "allocate"})))
    t0 = time.time()
    for i, (status, obj) in enumerate(parallel(8, lambda i: api.json("POST", vm_path(VM_NS), vm(VM_NS, f"load-{i}")), range(vms))):
        checker.check(status, obj, vm_macs, f"load vm {i}")
    for i, (status, obj) in enumerate(parallel(8, lambda i: api.json("POST", pod_path(MULTUS_NS), pod(MULTUS_NS, f"load-{i}", [{"name": "blue"}])), range(multus))):
        checker.check(status, obj, pod_macs, f"load pod {i}")
    for status, obj in parallel(8, lambda i: api.json("POST", pod_path(PLAIN_NS), pod(PLAIN_NS, f"load-{i}")), range(pods - multus)):
        if status != 201:
            checker.problem("load plain pod", f"HTTP {status}", f"HTTP {status}")
    return round(time.time() - t0, 1)


def no_macs(obj):
    """The engine floor's and trivial's answers: refusals are counted, their MACs not checked."""
    return []


class Target:
    """Where a system's creates go and how its answers are checked."""

    def __init__(self, system, vm_webhook, pod_webhook, vm_ns=VM_NS, multus_ns=MULTUS_NS, checked=True):
        self.system, self.vm_webhook, self.pod_webhook = system, vm_webhook, pod_webhook
        self.vm_ns, self.multus_ns = vm_ns, multus_ns
        self.vm_macs, self.pod_macs = (vm_macs, pod_macs) if checked else (no_macs, no_macs)


def policy_target(system, suffix):
    pods_name, vms_name = variant_names(suffix)
    if suffix in (s for s, _ in ENGINES.values()):
        return Target(system, webhook_of(vms_name), webhook_of(pods_name), ENGINE_VM_NS, ENGINE_MULTUS_NS, checked=False)
    return Target(system, webhook_of(vms_name), webhook_of(pods_name))


def sequential(api, checker, target, tag, kind, samples, opened=None):
    """SAMPLES sequential CREATEs of KIND ("vm" or "pod"), timed by the client and by the API
    server. `opened`: under `indexed`, the spans whose watches this policy-server has open; the
    creates that opened one (from the answer's block) are also summed apart."""
    r = {}
    webhook = target.vm_webhook if kind == "vm" else target.pod_webhook
    before = metrics_hist(api, webhook)
    times, first_in_span, refused = [], [], 0
    for i in range(samples):
        t0 = time.perf_counter()
        if kind == "vm":
            status, obj = api.json("POST", vm_path(target.vm_ns), vm(target.vm_ns, f"{tag}-lat-{i}"))
            macs_of, answer_macs = target.vm_macs, vm_macs
        else:
            status, obj = api.json("POST", pod_path(target.multus_ns), pod(target.multus_ns, f"{tag}-lat-{i}", [{"name": "blue"}]))
            macs_of, answer_macs = target.pod_macs, pod_macs
        times.append((time.perf_counter() - t0) * 1000)
        refused += status != 201
        checker.check(status, obj, macs_of, f"{target.system} {kind} {tag}-lat-{i}")
        macs = answer_macs(obj) if opened is not None and status == 201 else None
        if macs and macs[0] and MAC_RE.match(macs[0]):
            spans = spans_of(macs[0])
            if not spans <= opened:
                opened.update(spans)
                first_in_span.append(times[-1])
    r[f"{kind}_create_client"] = {"p50_ms": pct(times, 0.5), "p95_ms": pct(times, 0.95), "n": samples,
                                  "first_ms": round(times[0], 2), "max_ms": round(max(times), 2)}
    r[f"{kind}_create_refused"] = refused
    if first_in_span:
        r[f"{kind}_create_first_in_span"] = {"p50_ms": pct(first_in_span, 0.5), "p95_ms": pct(first_in_span, 0.95),
                                             "max_ms": round(max(first_in_span), 2), "n": len(first_in_span)}
    r[f"{kind}_create_webhook"] = hist_quantiles(before, metrics_hist(api, webhook))
    return r


def burst(api, checker, target, tag):
    """200 VMs by 8 parallel clients."""
    def one(i):
        return api.json("POST", vm_path(target.vm_ns), vm(target.vm_ns, f"{tag}-burst-{i}"))
    r = {}
    t0 = time.perf_counter()
    answers = parallel(8, one, range(200))
    r["burst_seconds"] = round(time.perf_counter() - t0, 2)
    collided = 0
    for i, (status, obj) in enumerate(answers):
        collided += len(checker.check(status, obj, target.vm_macs, f"{target.system} vm {tag}-burst-{i}", expect_unique=True))
    r["burst_200_vms_8_clients_collisions"] = collided
    r["burst_refused"] = sum(status != 201 for status, _ in answers)
    return r


def measure(api, checker, target, tag, samples, opened=None):
    """The sequential VM and Pod CREATEs and the burst, one after another."""
    r = sequential(api, checker, target, tag, "vm", samples, opened)
    r.update(sequential(api, checker, target, tag, "pod", samples, opened))
    r.update(burst(api, checker, target, tag))
    return r


def after_restarts(api, checker, target, tag, samples, restart, opened=None):
    """The restart pass: policy-server restarted, nothing primed, before each of the sequential VM
    CREATEs, the sequential Pod CREATEs and the burst. `restart()` returns its ms to readiness."""
    r = {"restart_ready_ms": []}
    for kind in ("vm", "pod"):
        r["restart_ready_ms"].append(restart())
        r.update(sequential(api, checker, target, tag, kind, samples, opened))
    r["restart_ready_ms"].append(restart())
    r.update(burst(api, checker, target, tag))
    return r


def apiserver_watches(api):
    """The WATCH requests kube-apiserver holds, by resource (apiserver_longrunning_requests; the
    older apiserver_registered_watchers, by kind, where that is absent)."""
    _, raw = api.req("GET", "/metrics")
    longrunning, registered = collections.Counter(), collections.Counter()
    for line in raw.decode().splitlines():
        if line.startswith("apiserver_longrunning_requests{") and 'verb="WATCH"' in line:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
            key = labels.get("resource", "") + ("." + labels["group"] if labels.get("group") else "")
            longrunning[key] += int(float(line.rsplit(" ", 1)[1]))
        elif line.startswith("apiserver_registered_watchers{"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
            registered[labels.get("kind", "")] += int(float(line.rsplit(" ", 1)[1]))
    return dict(longrunning or registered)


def api_connections(pid, ports):
    """The established TCP connections of process PID to 127.0.0.1:PORTS (its sockets in
    /proc/PID/fd, their states in /proc/PID/net/tcp and tcp6)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:["):-1])
    established = 0
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "01" and fields[9] in inodes and int(fields[2].rsplit(":", 1)[1], 16) in ports:
                established += 1
    return established


def reflectors_created(log, offset):
    """The `creating new reflector` lines of policy-server's log after OFFSET (its start)."""
    with open(log, errors="replace") as f:
        f.seek(offset)
        return sum("creating new reflector" in line for line in f)


def watches_snapshot(api, pid, ports, log=None, offset=0):
    """The raw figures of one replica now; `watches_per_replica` subtracts the API server's own."""
    snap = {"apiserver_watches": apiserver_watches(api), "connections": api_connections(pid, ports)}
    if log:
        snap["reflectors_created"] = reflectors_created(log, offset)
    return snap


def stable_watches(api, settle_s=1.0, deadline_s=30):
    """The API server's WATCH requests once two reads SETTLE_S apart agree (a stopped process's
    watches end a moment after it)."""
    last, end = apiserver_watches(api), time.time() + deadline_s
    while time.time() < end:
        time.sleep(settle_s)
        now = apiserver_watches(api)
        if now == last:
            return now
        last = now
    return last


def watches_per_replica(snap, baseline):
    """A snapshot less the WATCH requests held with neither policy-server nor Kubemacpool running."""
    by = {k: v - baseline.get(k, 0) for k, v in snap["apiserver_watches"].items() if v - baseline.get(k, 0)}
    out = {"watches": sum(by.values()), "watches_by_resource": dict(sorted(by.items())),
           "connections": snap["connections"], "target": WATCH_TARGET}
    if "reflectors_created" in snap:
        out["reflectors_created"] = snap["reflectors_created"]
    return out


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
    ap.add_argument("--floor", default=os.path.join(kmp.REPO, "target", "bench-floor.wasm"),
                    help="the annotated engine-floor module (make target/bench-floor.wasm); '' leaves out the floor and trivial")
    ap.add_argument("--out")
    args = ap.parse_args()
    state = os.path.abspath(args.state)
    env = env_of(state)
    api = Api(state, env)
    checker = Checker(0x020000000000, 0x02FFFFFFFFFF)
    result = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": f"{os.cpu_count()} cores, {os.uname().machine}",
              "vms": args.vms, "pods": args.pods, "multus_pods": round(args.pods * args.multus_share), "systems": {}}

    modes = [m for m in args.modes.split(",") if m]
    if args.floor and not os.path.isfile(args.floor):
        raise SystemExit(f"bench: no {args.floor}: make target/bench-floor.wasm (kwctl on PATH), or --floor ''")
    derive_variants(state, env, modes, args.floor)
    ps_log = os.path.join(state, "logs", "policy-server-1.log")
    ps_ports = {int(env["APIPROXY_PORT"]), int(env["API_PORT"])}
    ps = {"log_offset": 0}
    opened = set()  # the spans whose watches policy-server-1 has open (the policy's indexed passes)

    def stop_policy_server():
        sh(CLUSTER_SH, "stop", "policy-server-1", state)
        opened.clear()
        ps["log_offset"] = os.path.getsize(ps_log) if os.path.exists(ps_log) else 0

    def restart_policy_server():
        """Restarted, until its first answered admission (a probe, which opens one VM span)."""
        stop_policy_server()
        t0 = time.time()
        proc = subprocess.Popen([CLUSTER_SH, "start", "policy-server-1", state], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        t1 = first_answer(api, opened=opened)
        if proc.wait() != 0:
            raise SystemExit("bench: policy-server did not start: " + proc.stderr.read().decode())
        return round((t1 - t0) * 1000)

    def restart_unprimed():
        """Restarted, until ready (no admission sent): ms."""
        stop_policy_server()
        t0 = time.time()
        sh(CLUSTER_SH, "start", "policy-server-1", state)
        return round((time.time() - t0) * 1000)

    def snapshot():
        return watches_snapshot(api, pid_of(state, "policy-server-1"), ps_ports, ps_log, ps["log_offset"])

    def rss(r, process):
        r["rss_kib"] = rss_kib(pid_of(state, process))
        r["apiserver_rss_kib"] = rss_kib(pid_of(state, "apiserver"))

    installed = []

    def use(suffix):
        """The webhooks of a variant (the policy's probe through cluster.sh; the engines' here)."""
        if installed == [suffix]:
            return
        if suffix in (s for s, _ in ENGINES.values()):
            install_webhooks(api, state, variant_names(suffix))
        else:
            sh(CLUSTER_SH, "webhooks", state, *variant_names(suffix))
        installed[:] = [suffix]

    use("")
    result["policy_startup_ms"] = restart_policy_server()  # the new policies.yml (variants)
    result["load_seconds"] = load(api, checker, args.vms, args.pods, result["multus_pods"])
    result["policy_startup_loaded_ms"] = restart_policy_server()  # now with the cluster loaded

    engines = [(name, suffix) for name, (suffix, _) in ENGINES.items()] if args.floor else []
    indexed = "indexed" in modes
    # After a restart: nothing primed before each part
    watches = {}  # when -> the raw figures of a replica (watches_snapshot)
    for name, suffix in ([("policy indexed", "")] if indexed else []) + engines:
        use(suffix)
        r = after_restarts(api, checker, policy_target(f"{name}, after a restart", suffix),
                           f"{suffix or 'p-indexed'}-restart", args.samples, restart_unprimed,
                           opened if not suffix else None)
        r["refused"] = r["vm_create_refused"] + r["pod_create_refused"] + r["burst_refused"]
        rss(r, "policy-server-1")
        result["systems"][f"{name}, after a restart"] = r
        if suffix:
            clear_engine_namespaces(api)
        else:
            watches["policy-server-1, after the policy's restart pass (its burst into a fresh replica)"] = snapshot()

    # Warm: every span primed first (the floor's calls are the policy's: the same watches), in a
    # process of its own so that its watches are those of the warm passes
    use("")
    restart_unprimed()
    t0 = time.time()
    sh(*kmp.command("cluster.warm_spans", f"https://127.0.0.1:{env['PS1_PORT']}", os.path.join(state, "pki", "ca.crt"),
                    "clusterwide-" + variant_names("")[1]), env=kmp.environ())
    result["warm_spans_seconds"] = round(time.time() - t0, 1)
    for mode in modes:
        suffix = "" if mode == "indexed" else mode.replace("-", "")
        use(suffix)
        name = "policy indexed, warm" if mode == "indexed" else f"policy {mode}"
        r = measure(api, checker, policy_target(name, suffix), f"p-{mode}-warm" if mode == "indexed" else f"p-{mode}", args.samples)
        rss(r, "policy-server-1")
        result["systems"][name] = r
        if mode == "indexed":
            watches["policy-server-1, after the indexed warm pass"] = snapshot()
    for name, suffix in engines:
        use(suffix)
        r = measure(api, checker, policy_target(f"{name}, warm", suffix), f"{suffix}-warm", args.samples)
        rss(r, "policy-server-1")
        result["systems"][f"{name}, warm"] = r
        clear_engine_namespaces(api)
    watches["policy-server-1, end of the policy-server passes (every mode)"] = snapshot()

    if indexed:
        use("")
        r = result["systems"]["policy indexed, warm"]
        r["restart_under_load"] = restart_under_load(api, checker, "policy indexed restart", "p-restart",
                                                     lambda: (stop_policy_server(), sh(CLUSTER_SH, "start", "policy-server-1", state)))
        watches["policy-server-1, end of the run (after its restart under load)"] = snapshot()

    # Kubemacpool
    stop_policy_server()
    baseline = stable_watches(api)  # the API server's own, with neither system running
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
    r.update(measure(api, checker, Target("kubemacpool", "mutatevirtualmachines.kubemacpool.io", "mutatepods.kubemacpool.io"),
                     "k", args.samples))
    rss(r, "kubemacpool")
    result["systems"]["kubemacpool"] = r
    watches["kubemacpool, after its passes"] = watches_snapshot(api, pid_of(state, "kubemacpool"), {int(env["API_PORT"])})
    crashes = []
    r["restart_under_load"] = restart_under_load(api, checker, "kubemacpool restart", "k-restart",
                                                 lambda: kmp_restart(state, crashes))
    r["restart_under_load"]["crashes"] = crashes
    sh(KMP_SH, "down", state)

    result["watches_baseline"] = baseline
    result["watches"] = {when: watches_per_replica(snap, baseline) for when, snap in watches.items()}
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
