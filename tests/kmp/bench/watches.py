"""make bench-watches: what the policy's watches cost the cluster, measured on the test API server
(tests/cluster/cluster.sh) with two policy-server replicas.

    python3 -m kmp.bench.watches primes --state STATE_DIR --out FILE
        an empty cluster, 2 replicas: each replica's watches primed one replica after the other
        (warm_spans.py: 64 VM spans, 16 Pod spans, 2 legacy lists), timed; then the TCP connections each replica holds to the
        API server's proxy (apiproxy, haproxy), the proxy's to kube-apiserver, and the proxy's
        accept queue. Run once per haproxy maxconn (KMP_HAPROXY_MAXCONN) to show the stall.
    python3 -m kmp.bench.watches cost --state STATE_DIR --vms N --pods M --out FILE [--rate 100] [--seconds 30]
        the cluster loaded as bench-cluster loads it (bench.py), then for no policy-server, the
        policy in `indexed` and in `pods-tracked` (2 replicas, fully primed): connections per
        replica, kube-apiserver's registered watchers, RSS and CPU of kube-apiserver and of each
        replica, idle and while RATE Pods/s are created and deleted (Pods without networks in a
        namespace no webhook selects: the cost is the watchers', not the admissions').
    python3 -m kmp.bench.watches table FILE...
        the Markdown tables of docs/performance.md.
"""

import argparse
import json
import os
import subprocess
import threading
import time

import kmp
from kmp.bench.bench import CLUSTER_SH, PLAIN_NS, Api, Checker, env_of, load, names, pid_of, pod, pod_path, rss_kib, sh

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def established(port, pid=None, direction="dst"):
    """Established TCP connections to (dst) or from (src) 127.0.0.1:PORT, of process PID if given."""
    out = subprocess.run(["ss", "-tnpH", "state", "established", f"{direction} 127.0.0.1:{port}"],
                         capture_output=True, text=True, check=True).stdout
    return sum(1 for line in out.splitlines() if pid is None or f"pid={pid}," in line)


def accept_queue(port):
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    return int(out.split()[1]) if out.strip() else None


def watchers(api):
    """kube-apiserver's open watches of Pods and of VirtualMachines (apiserver_longrunning_requests,
    verb WATCH: apiserver_registered_watchers is gone from 1.34's /metrics)."""
    _, raw = api.req("GET", "/metrics")
    out = {"Pod": 0, "VirtualMachine": 0}
    for line in raw.decode().splitlines():
        if line.startswith("apiserver_longrunning_requests{") and 'verb="WATCH"' in line:
            resource = line.split('resource="', 1)[1].split('"', 1)[0]
            kind = {"pods": "Pod", "virtualmachines": "VirtualMachine"}.get(resource)
            if kind:
                out[kind] += int(float(line.rsplit(" ", 1)[1]))
    return out


STALL_WAIT = 400  # s; a stalled watch's LIST waits for an older watch's end (its timeoutSeconds, 290)


def prime(state, env, replica, policy):
    """warm_spans.py against one replica: every index watch opened; returns its seconds."""
    port = env[f"PS{replica}_PORT"]
    t0 = time.time()
    out = subprocess.run(kmp.command("cluster.warm_spans", f"https://127.0.0.1:{port}", os.path.join(state, "pki", "ca.crt"),
                                     policy),
                         capture_output=True, text=True, env=kmp.environ(WARM_RETRY_FOR=str(STALL_WAIT)))
    if out.returncode != 0:
        raise SystemExit(f"watches.py: priming policy-server-{replica} failed: {out.stderr.strip()}")
    return {"seconds": round(time.time() - t0, 1), "warm_spans": out.stdout.strip()}


def connections(state, env, replicas):
    proxy = pid_of(state, "apiproxy")
    return {"per_replica": [established(env["APIPROXY_PORT"], pid_of(state, f"policy-server-{i}")) for i in replicas],
            "proxy_to_apiserver": established(env["API_PORT"], proxy),
            "proxy_accept_queue": accept_queue(env["APIPROXY_PORT"])}


class Churn:
    """RATE Pods/s created in PLAIN_NS and each deleted about a second later, by 8 threads."""

    def __init__(self, api, rate, tag):
        self.api, self.rate, self.tag = api, rate, tag
        self.stop = threading.Event()
        self.counts = {"created": 0, "deleted": 0, "failed": 0}
        self.lock = threading.Lock()

    def _run(self, worker, workers):
        interval = workers / self.rate
        pending = []
        n = 0
        next_at = time.monotonic()
        while not self.stop.is_set() or pending:
            if not self.stop.is_set():
                name = f"churn-{self.tag}-{worker}-{n}"
                n += 1
                status, _ = self.api.json("POST", pod_path(PLAIN_NS), pod(PLAIN_NS, name))
                self._count("created" if status == 201 else "failed")
                if status == 201:
                    pending.append((time.monotonic() + 1, name))
            while pending and (pending[0][0] <= time.monotonic() or self.stop.is_set()):
                _, old = pending.pop(0)
                status, _ = self.api.json("DELETE", f"{pod_path(PLAIN_NS)}/{old}?gracePeriodSeconds=0")
                self._count("deleted" if status == 200 else "failed")
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    def _count(self, what):
        with self.lock:
            self.counts[what] += 1

    def __enter__(self):
        self.threads = [threading.Thread(target=self._run, args=(w, 8)) for w in range(8)]
        self.t0 = time.monotonic()
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.seconds = time.monotonic() - self.t0
        self.stop.set()
        for t in self.threads:
            t.join()


def usage(state, api, replicas, seconds, churn_rate=0, tag=""):
    """CPU (% of one core) and RSS of kube-apiserver and the replicas over SECONDS, idle or under churn."""
    pids = {"apiserver": pid_of(state, "apiserver")}
    pids.update({f"policy-server-{i}": pid_of(state, f"policy-server-{i}") for i in replicas})
    before = {k: cpu_seconds(p) for k, p in pids.items()}
    t0 = time.monotonic()
    churn = None
    if churn_rate:
        with Churn(api, churn_rate, tag) as churn:
            time.sleep(seconds)
    else:
        time.sleep(seconds)
    wall = time.monotonic() - t0
    r = {k: {"cpu_percent": round((cpu_seconds(p) - before[k]) / wall * 100, 1), "rss_mib": rss_kib(p) // 1024}
         for k, p in pids.items()}
    if churn:
        r["churn"] = dict(churn.counts, pods_per_second=round(churn.counts["created"] / churn.seconds, 1))
    return r


class Sampler:
    """connections() every 2 s while a replica primes: the most seen of each, and when."""

    def __init__(self, state, env):
        self.state, self.env = state, env
        self.stop = threading.Event()
        self.peak = {}

    def _run(self):
        while not self.stop.wait(2):
            c = connections(self.state, self.env, (1, 2))
            for key, value in (("replica_1", c["per_replica"][0]), ("replica_2", c["per_replica"][1]),
                               ("proxy_to_apiserver", c["proxy_to_apiserver"]),
                               ("proxy_accept_queue", c["proxy_accept_queue"] or 0)):
                self.peak[key] = max(self.peak.get(key, 0), value)

    def __enter__(self):
        self.thread = threading.Thread(target=self._run)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def http_log(path):
    """kube-apiserver's request log (--v 3): (time, verb, URI, srcIP, latency) per request."""
    out = []
    for line in open(path, errors="replace"):
        if '"HTTP" verb=' not in line:
            continue
        field = lambda name: line.split(f' {name}="', 1)[1].split('"', 1)[0] if f' {name}="' in line else ""
        out.append((line[5:20], field("verb"), field("URI"), field("srcIP"), field("latency")))
    return out


def stalls(state, replica, blocks_over=5.0):
    """Each new watch whose initial LIST waited: policy-server's gaps of more than BLOCKS_OVER s
    after "creating new reflector", and for each, in kube-apiserver's request log, that LIST and
    the other requests of the same client connection (srcIP: haproxy keeps one backend connection
    per client connection) just before it."""
    import datetime
    lines = [l for l in open(os.path.join(state, "logs", f"policy-server-{replica}.log"), errors="replace")]
    strip = lambda l: __import__("re").sub(r"\x1b\[[0-9;]*m", "", l)
    found = []
    prev = None
    for line in map(strip, lines):
        try:
            t = datetime.datetime.fromisoformat(line.split(" ", 1)[0].rstrip("Z"))
        except ValueError:
            continue
        if prev and (t - prev[0]).total_seconds() > blocks_over and "creating new reflector" in prev[1]:
            sel = prev[1].split('label_selector=Some("', 1)[1].split('"', 1)[0]
            kind = "pods" if 'kind="Pod"' in prev[1] else "virtualmachines"
            found.append({"reflector": f"{kind} {sel}", "created": prev[0].isoformat(),
                          "next_log_line_after_s": round((t - prev[0]).total_seconds(), 1)})
        prev = (t, line)
    log = os.path.join(state, "logs", "apiserver.log")
    if not found or not os.path.exists(log):
        return found
    reqs = http_log(log)
    for f in found:
        kind, sel = f["reflector"].split(" ", 1)
        want = sel.replace("/", "%2F")
        lists = [r for r in reqs if r[1] == "LIST" and f"/{kind}?" in r[2] and want in r[2]]
        if not lists:
            continue
        stalled = lists[-1]
        f["list_logged"] = {"at": stalled[0], "src": stalled[3], "latency": stalled[4]}
        before = [r for r in reqs if r[3] == stalled[3] and r[0] <= stalled[0] and r is not stalled]
        f["same_connection_before"] = [{"at": r[0], "verb": r[1], "uri": r[2][:120], "latency": r[4]} for r in before[-3:]]
    return found


def cmd_primes(args):
    state = os.path.abspath(args.state)
    env = env_of(state)
    sh(CLUSTER_SH, "replicas", state, "2")
    r = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": f"{os.cpu_count()} cores",
         "maxconn": int(os.environ.get("KMP_HAPROXY_MAXCONN", "8192")), "replicas": []}
    for i in (1, 2):
        with Sampler(state, env) as sampler:
            p = prime(state, env, i, "clusterwide-kubemacpool-vms-opt-out")
        p["peak_while_priming"] = sampler.peak
        p["connections_after"] = connections(state, env, (1, 2))
        p["stalls"] = stalls(state, i)
        r["replicas"].append(p)
    json.dump(r, open(args.out, "w"), indent=1)
    print(json.dumps(r, indent=1))


def cmd_cost(args):
    state = os.path.abspath(args.state)
    env = env_of(state)
    api = Api(state, env)
    checker = Checker(0x020000000000, 0x02FFFFFFFFFF)
    r = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": f"{os.cpu_count()} cores",
         "vms": args.vms, "pods": args.pods, "rate": args.rate, "seconds": args.seconds, "systems": {}}
    sh(CLUSTER_SH, "webhooks", state, *names("indexed"))
    r["load_seconds"] = load(api, checker, args.vms, args.pods, round(args.pods * 0.05))
    # no policy-server at all: what the cluster costs without any watcher of the policy
    sh(CLUSTER_SH, "stop", "policy-server-1", state)
    time.sleep(10)
    r["systems"]["no policy-server"] = {"watchers": watchers(api), "idle": usage(state, api, (), args.seconds),
                                        "churn": usage(state, api, (), args.seconds, args.rate, "none")}
    for mode in ("indexed", "pods-tracked"):
        sh(CLUSTER_SH, "start", "policy-server-1", state)
        sh(CLUSTER_SH, "webhooks", state, *names(mode))
        sh(CLUSTER_SH, "replicas", state, "2")
        policy = "clusterwide-" + names(mode)[1]
        m = {"prime": [prime(state, env, i, policy) for i in (1, 2)]}
        time.sleep(10)
        m["connections"] = connections(state, env, (1, 2))
        m["watchers"] = watchers(api)
        m["idle"] = usage(state, api, (1, 2), args.seconds)
        m["churn"] = usage(state, api, (1, 2), args.seconds, args.rate, mode)
        r["systems"][mode] = m
        sh(CLUSTER_SH, "replicas", state, "1")
        sh(CLUSTER_SH, "stop", "policy-server-1", state)
    r["problems"] = checker.problems[:20]
    json.dump(r, open(args.out, "w"), indent=1)
    print(json.dumps(r, indent=1))
    raise SystemExit(1 if checker.problems else 0)


def cmd_table(args):
    for path in args.files:
        r = json.load(open(path))
        if "replicas" in r:
            print(f"haproxy maxconn {r['maxconn']} ({r['date']}, {r['machine']}), each replica primed after the other:")
            print()
            print("| replica | primed in (s) | warm_spans.py | its connections to the API server | both replicas' | proxy to kube-apiserver | most queued in the proxy's accept queue while priming |")
            print("|---|---|---|---|---|---|---|")
            for i, p in enumerate(r["replicas"], 1):
                c = p["connections_after"]
                print(f"| {i} | {p['seconds']} | {p['warm_spans']} | {c['per_replica'][i - 1]} | {sum(c['per_replica'])} | "
                      f"{c['proxy_to_apiserver']} | {p.get('peak_while_priming', {}).get('proxy_accept_queue', '-')} |")
            print()
            for i, p in enumerate(r["replicas"], 1):
                for st in p.get("stalls", []):
                    print(f"- replica {i}: the watch {st['reflector']} created {st['created']}; the next log line "
                          f"{st['next_log_line_after_s']} s later; its LIST reached kube-apiserver "
                          f"{st.get('list_logged', {}).get('at', '(no request log)')} on connection "
                          f"{st.get('list_logged', {}).get('src', '?')}, after: "
                          + "; ".join(f"{b['verb']} {b['uri']} ({b['latency']}, logged {b['at']})"
                                      for b in st.get("same_connection_before", [])))
            print()
            continue
        print(f"{r['vms']} VMs + {r['pods']} Pods (loaded in {r['load_seconds']} s), 2 replicas; {r['date']}, {r['machine']}; "
              f"churn: {r['rate']} Pods/s created and deleted, {r['seconds']} s per sample")
        print()
        print("| policy-server | connections to the API server, per replica | watchers (Pod / VM) | kube-apiserver CPU idle / churn (% of a core) | kube-apiserver RSS idle / churn (MiB) | policy-server CPU idle / churn (%, each) | policy-server RSS (MiB, each) | primed in (s, each) | churn achieved (Pods/s) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name, m in r["systems"].items():
            idle, churn = m["idle"], m["churn"]
            replicas = [k for k in idle if k.startswith("policy-server")]
            conns = " / ".join(str(c) for c in m["connections"]["per_replica"]) if "connections" in m else "-"
            w = m["watchers"]
            ps_cpu = " / ".join(f"{idle[k]['cpu_percent']}-{churn[k]['cpu_percent']}" for k in replicas) or "-"
            print(f"| {name} | {conns} | {w.get('Pod', 0)} / {w.get('VirtualMachine', 0)} | "
                  f"{idle['apiserver']['cpu_percent']} / {churn['apiserver']['cpu_percent']} | "
                  f"{idle['apiserver']['rss_mib']} / {churn['apiserver']['rss_mib']} | {ps_cpu} | "
                  f"{' / '.join(str(churn[k]['rss_mib']) for k in replicas) or '-'} | "
                  f"{' / '.join(str(p['seconds']) for p in m.get('prime', [])) or '-'} | {churn['churn']['pods_per_second']} |")
        print()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("primes")
    p.add_argument("--state", required=True)
    p.add_argument("--out", required=True)
    c = sub.add_parser("cost")
    c.add_argument("--state", required=True)
    c.add_argument("--vms", type=int, default=10000)
    c.add_argument("--pods", type=int, default=100000)
    c.add_argument("--rate", type=int, default=100)
    c.add_argument("--seconds", type=int, default=30)
    c.add_argument("--out", required=True)
    t = sub.add_parser("table")
    t.add_argument("files", nargs="+")
    args = ap.parse_args()
    {"primes": cmd_primes, "cost": cmd_cost, "table": cmd_table}[args.cmd](args)


if __name__ == "__main__":
    main()
