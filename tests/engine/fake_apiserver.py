#!/usr/bin/env python3
"""A small fake Kubernetes API server for tests of the real policy-server (standard library only).

It serves what kube-rs in policy-server 1.35 asks for when a policy lists or gets VirtualMachines
and Pods: discovery of `v1` and `kubevirt.io/v1`, paged lists (`limit`/`continue`) with label
selectors, watches that send a bookmark and stay open, and GETs of single objects with a 404
Status body when the object does not exist. Nothing is ever written.

    fake_apiserver.py --cluster test_data/cluster.json --port-file PORT_FILE
    fake_apiserver.py --generate 10000:100000 --port-file PORT_FILE   (see cluster.py)

It writes a kubeconfig for itself (--kubeconfig), and counts the requests it served per path
(GET /_stats), which tests use to check how often policy-server listed a kind.
"""

import argparse
import json
import os
import re
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster as generated  # noqa: E402

RESOURCE_VERSION = "5000"

# kind -> (group/version path prefix, plural, list kind)
RESOURCES = {
    "Pod": ("/api/v1", "pods", "PodList", "v1"),
    "VirtualMachine": ("/apis/kubevirt.io/v1", "virtualmachines", "VirtualMachineList", "kubevirt.io/v1"),
}


def discovery(group_version, kinds):
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [
            {
                "name": RESOURCES[kind][1],
                "singularName": kind.lower(),
                "namespaced": True,
                "kind": kind,
                "verbs": ["get", "list", "watch"],
            }
            for kind in kinds
        ],
    }


def parse_selector(text):
    """Equality- and existence-based label selectors: a=b, a==b, a!=b, a, !a (comma = and)."""
    tests = []
    for term in filter(None, (t.strip() for t in (text or "").split(","))):
        if m := re.fullmatch(r"([^=!\s]+)\s*!=\s*(\S*)", term):
            tests.append(lambda labels, k=m[1], v=m[2]: labels.get(k) != v)
        elif m := re.fullmatch(r"([^=!\s]+)\s*==?\s*(\S*)", term):
            tests.append(lambda labels, k=m[1], v=m[2]: labels.get(k) == v)
        elif m := re.fullmatch(r"!\s*(\S+)", term):
            tests.append(lambda labels, k=m[1]: k not in labels)
        elif re.fullmatch(r"\S+", term):
            tests.append(lambda labels, k=term: k in labels)
        else:
            raise ValueError(f"unsupported label selector term {term!r}")
    return lambda obj: all(t(obj["metadata"].get("labels") or {}) for t in tests)


def not_found(plural, group, name):
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'{plural}{"." + group if group else ""} "{name}" not found',
        "reason": "NotFound",
        "details": {"name": name, "group": group, "kind": plural},
        "code": 404,
    }


class Cluster:
    def __init__(self, objects):
        self.objects = objects  # kind -> list of objects
        self.by_name = {
            kind: {(o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in items}
            for kind, items in objects.items()
        }
        # Encoded once: a list page is then a join of bytes, so that the fake server's own cost
        # stays far below policy-server's.
        self.encoded = {kind: [json.dumps(self.listed(kind, o), separators=(",", ":")).encode() for o in items]
                        for kind, items in objects.items()}

    @staticmethod
    def listed(kind, obj):
        # The API server lists core objects without apiVersion/kind.
        if kind == "Pod":
            return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
        return obj


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cluster = None
    stats = Counter()
    stats_lock = threading.Lock()

    def log_message(self, fmt, *args):
        if os.environ.get("FAKE_APISERVER_LOG"):
            sys.stderr.write("fake-apiserver: " + fmt % args + "\n")

    def send_json(self, status, body):
        data = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def count(self, key):
        with self.stats_lock:
            self.stats[key] += 1

    def do_GET(self):
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        path = url.path.rstrip("/")
        if path == "/_stats":
            with self.stats_lock:
                return self.send_json(200, dict(self.stats))
        if path == "/api/v1":
            return self.send_json(200, discovery("v1", ["Pod"]))
        if path == "/apis/kubevirt.io/v1":
            return self.send_json(200, discovery("kubevirt.io/v1", ["VirtualMachine"]))
        if path == "/version":
            return self.send_json(200, {"major": "1", "minor": "34", "gitVersion": "v1.34.0-fake"})
        for kind, (prefix, plural, list_kind, api_version) in RESOURCES.items():
            if path == f"{prefix}/{plural}":
                if query.get("watch") in ("true", "1"):
                    self.count(f"watch {kind}")
                    return self.watch(kind, api_version, query)
                self.count(f"list {kind}")
                return self.list(kind, list_kind, api_version, query)
            if m := re.fullmatch(re.escape(prefix) + r"/namespaces/([^/]+)/" + plural + r"/([^/]+)", path):
                self.count(f"get {kind}")
                obj = self.cluster.by_name.get(kind, {}).get((m[1], m[2]))
                if obj is None:
                    group = api_version.split("/")[0] if "/" in api_version else ""
                    return self.send_json(404, not_found(plural, group, m[2]))
                return self.send_json(200, obj)
        self.count("unknown " + path)
        self.send_json(404, not_found("", "", path))

    def list(self, kind, list_kind, api_version, query):
        try:
            selects = parse_selector(query.get("labelSelector"))
        except ValueError as e:
            return self.send_json(400, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                        "message": str(e), "reason": "BadRequest", "code": 400})
        items = self.cluster.objects.get(kind, [])
        encoded = self.cluster.encoded.get(kind, [])
        chosen = [encoded[i] for i, obj in enumerate(items) if selects(obj)]
        start = int(query.get("continue") or 0)
        limit = int(query.get("limit") or 0) or len(chosen)
        page = chosen[start:start + limit]
        metadata = {"resourceVersion": RESOURCE_VERSION}
        if start + limit < len(chosen):
            metadata["continue"] = str(start + limit)
            metadata["remainingItemCount"] = len(chosen) - start - limit
        head = json.dumps({"apiVersion": api_version, "kind": list_kind, "metadata": metadata},
                          separators=(",", ":"))[:-1].encode()
        self.send_json(200, head + b',"items":[' + b",".join(page) + b"]}")

    def watch(self, kind, api_version, query):
        """Nothing ever changes: a bookmark now and then until the watch times out."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        bookmark = json.dumps({"type": "BOOKMARK", "object": {
            "kind": kind, "apiVersion": api_version,
            "metadata": {"resourceVersion": RESOURCE_VERSION,
                         "annotations": {"k8s.io/initial-events-end": "true"}}}}).encode() + b"\n"
        deadline = time.monotonic() + min(int(query.get("timeoutSeconds") or 290), 290)
        try:
            while time.monotonic() < deadline:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(bookmark), bookmark))
                self.wfile.flush()
                time.sleep(5)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True


def kubeconfig(port):
    return f"""apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: http://127.0.0.1:{port}
contexts:
- name: fake
  context:
    cluster: fake
    user: fake
    namespace: default
current-context: fake
users:
- name: fake
  user:
    token: fake
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--cluster", help="JSON file: {\"VirtualMachine\": [...], \"Pod\": [...]}")
    source.add_argument("--generate", help="VMS:PODS, a generated cluster (cluster.py)")
    parser.add_argument("--mac-share", type=float, default=0.05, help="with --generate: pods holding a Multus MAC")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", help="where to write the port once listening")
    parser.add_argument("--kubeconfig", help="where to write a kubeconfig for this server")
    args = parser.parse_args()

    if args.cluster:
        with open(args.cluster) as f:
            objects = json.load(f)
    else:
        vms, pods = (int(n) for n in args.generate.split(":"))
        objects = generated.generate(vms, pods, args.mac_share)
    Handler.cluster = Cluster(objects)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    if args.kubeconfig:
        with open(args.kubeconfig, "w") as f:
            f.write(kubeconfig(port))
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(port))
        os.replace(args.port_file + ".tmp", args.port_file)
    print(f"fake-apiserver: {sum(map(len, objects.values()))} objects on 127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
