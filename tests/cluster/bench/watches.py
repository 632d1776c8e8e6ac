#!/usr/bin/env python3
"""make bench-watches: what the policy's watches cost the cluster, measured on the test API server
(tests/cluster/cluster.sh) with two policy-server replicas.

    watches.py primes --state STATE_DIR --out FILE
        an empty cluster, 2 replicas: each replica's watches primed one replica after the other
        (warm_blocks.py, 256 blocks), timed; then the TCP connections each replica holds to the
        API server's proxy (apiproxy, haproxy), the proxy's to kube-apiserver, and the proxy's
        accept queue. Run once per haproxy maxconn (KMP_HAPROXY_MAXCONN) to show the stall.
    watches.py cost --state STATE_DIR --vms N --pods M --out FILE [--rate 100] [--seconds 30]
        the cluster loaded as bench-cluster loads it (bench.py), then for no policy-server, the
        policy in `indexed` and in `pods-tracked` (2 replicas, fully primed): connections per
        replica, kube-apiserver's registered watchers, RSS and CPU of kube-apiserver and of each
        replica, idle and while RATE Pods/s are created and deleted (Pods without networks in a
        namespace no webhook selects: the cost is the watchers', not the admissions').
    watches.py table FILE...
        the Markdown tables of docs/performance.md.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench import CLUSTER_SH, PLAIN_NS, Api, Checker, env_of, load, names, pid_of, pod, pod_path, rss_kib, sh  # noqa: E402

WARM = os.path.join(HERE, "..", "warm_blocks.py")
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
    """kube-apiserver's apiserver_registered_watchers, by kind."""
    _, raw = api.req("GET", "/metrics")
    out = {}
    for line in raw.decode().splitlines():
        if line.startswith("apiserver_registered_watchers{"):
            kind = line.split('kind="', 1)[1].split('"', 1)[0]
            out[kind] = out.get(kind, 0) + int(float(line.rsplit(" ", 1)[1]))
    return {k: v for k, v in out.items() if k in ("Pod", "VirtualMachine")}


def prime(state, env, replica, policy, blocks=256):
    """warm_blocks.py against one replica: every block's watches opened; returns its seconds."""
    port = env[f"PS{replica}_PORT"]
    t0 = time.time()
    out = sh("python3", WARM, f"https://127.0.0.1:{port}", os.path.join(state, "pki", "ca.crt"), policy, str(blocks))
    return {"seconds": round(time.time() - t0, 1), "warm_blocks": out.strip()}


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


def cmd_primes(args):
    state = os.path.abspath(args.state)
    env = env_of(state)
    sh(CLUSTER_SH, "replicas", state, "2")
    r = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": f"{os.cpu_count()} cores",
         "maxconn": int(os.environ.get("KMP_HAPROXY_MAXCONN", "8192")), "replicas": []}
    for i in (1, 2):
        p = prime(state, env, i, "clusterwide-kubemacpool-vms-opt-out")
        p["connections_after"] = connections(state, env, (1, 2))
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
        m = {"prime": [prime(state, env, i, policy, 256 if mode == "indexed" else 4) for i in (1, 2)]}
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
            print("| replica | primed in (s) | warm_blocks.py | its connections to the API server | both replicas' | proxy to kube-apiserver | proxy's accept queue |")
            print("|---|---|---|---|---|---|---|")
            for i, p in enumerate(r["replicas"], 1):
                c = p["connections_after"]
                print(f"| {i} | {p['seconds']} | {p['warm_blocks']} | {c['per_replica'][i - 1]} | {sum(c['per_replica'])} | "
                      f"{c['proxy_to_apiserver']} | {c['proxy_accept_queue']} |")
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
