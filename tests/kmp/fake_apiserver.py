"""A small fake Kubernetes API server for tests of the real policy-server (standard library only).

It serves what kube-rs in policy-server 1.35 asks for when a policy lists or gets VirtualMachines
and Pods: discovery of `v1` and `kubevirt.io/v1`, paged lists (`limit`/`continue`) with label
selectors evaluated as the API server does (`k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`,
`k notin (a,b)`, `k>n`, `k<n`, comma = and), watches that send a bookmark and stay open, and GETs
of single objects with a 404 Status body when the object does not exist. Nothing is ever written.

    python3 -m kmp.fake_apiserver --cluster test_data/cluster.json --port-file PORT_FILE
    python3 -m kmp.fake_apiserver --generate 10000:100000 [--adoption adopted|half|none] --port-file PORT_FILE
        (see kmp.synthetic; --extra FILE adds the objects of a JSON file of the --cluster form)

It writes a kubeconfig for itself (--kubeconfig). GET /_stats counts what it served: `list <Kind>`
(`list <Kind> <selector>` with a label selector) per LIST, counting its first page only (so one
count per reflector's initial list), `pages` for every page, `watch <Kind>[ <selector>]` per watch
request, `open watches` (watch connections open now), `open watches peak`, and `tcp_nodelay` of
the connection that asked.

Many long-lived watches: policy-server keeps one watch per distinct (kind, selector) forever, up
to 514 with `inventory: indexed`. Each connection has its own daemon thread; accepted sockets get
TCP_NODELAY (without it, a response's body waited behind its headers for the client's delayed
ACK: 6-10 ms added to every new watch); the listen backlog holds 1024 connections (the default 5
dropped the connects of a burst of new watches); a watch answers `Connection: close`, so the
client never reuses a connection that the server is about to close at the watch's timeout; a
watch notices at once when its client goes away (poll(), which has no descriptor limit, where
select() fails above 1023); and the open-files limit is raised to the hard limit.

Every response closes its connection (`Connection: close`) unless --keep-alive. With keep-alive,
policy-server 1.35 now and then never sent a new reflector's LIST while each of its pooled
connections carried a watch: the admission waiting for that reflector stalled until watches
ended at their 290 s timeout (seen 4 times in about 140 runs that each open 514 reflectors in a
row, `make bench-engine`'s per-block cold start; the LIST left policy-server 290 s after its
"creating new reflector" line, and no socket held unread data meanwhile). With one connection per
request: none in 140 such runs, and each reflector's LIST and WATCH still arrive 2-3 ms after
policy-server starts it, as with keep-alive.
"""

import argparse
import json
import os
import re
import resource
import select
import socket
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from kmp import synthetic as generated

RESOURCE_VERSION = "5000"
BOOKMARK_SECONDS = 5
# One connection per request unless --keep-alive (see the module comment).
KEEP_ALIVE = False

# kind -> (group/version path prefix, plural, list kind, apiVersion); Namespaces are served by
# name only (GET /api/v1/namespaces/<name>: the policy's seed, behaviour.md section 6).
RESOURCES = {
    "Namespace": ("/api/v1", "namespaces", "NamespaceList", "v1"),
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
                "namespaced": kind != "Namespace",
                "kind": kind,
                "verbs": ["get", "list", "watch"],
            }
            for kind in kinds
        ],
    }


# Label selectors, as k8s.io/apimachinery/pkg/labels.Parse reads them.
_TOKEN = re.compile(r"\s*(?:(!=|==|=|!|\(|\)|,|>|<)|([^\s!=(),<>]+))")
_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_KEY = re.compile(r"(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*/)?" + _NAME)
_VALUE = re.compile(r"(?:" + _NAME + r")?")


def _tokens(text):
    out, pos = [], 0
    text = text or ""
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"unable to parse requirement: unexpected character at {pos} in {text!r}")
        out.append(("op", m[1]) if m[1] else ("id", m[2]))
        pos = m.end()
    return out


def _key(key):
    if not _KEY.fullmatch(key) or ("/" in key and len(key.rsplit("/", 1)[0]) > 253):
        raise ValueError(f"invalid label key {key!r}")
    return key


def _value(value):
    if not _VALUE.fullmatch(value):
        raise ValueError(f"invalid label value {value!r}")
    return value


def parse_selector(text):
    """A label selector as a predicate on an object's labels (a dict). Raises ValueError on a
    selector the API server would refuse. `k!=v` and `k notin (...)` hold when k is absent, as in
    Kubernetes; `k in (...)` and `k=v` need k. An empty selector selects everything."""
    toks = _tokens(text)
    # ("in", k, values), ("notin", k, values), ("exists", k), ("absent", k), or ("scan", test)
    # for > and <: what Selector tests, and what the label index (Cluster.matching) reads.
    requirements = []
    i = 0

    def peek():
        return toks[i] if i < len(toks) else ("end", None)

    while i < len(toks):
        tok = peek()
        if tok == ("op", "!"):
            i += 1
            kind, key = peek()
            if kind != "id":
                raise ValueError(f"expected a key after '!' in {text!r}")
            i += 1
            key = _key(key)
            requirements.append(("absent", key))
        elif tok[0] == "id":
            key = _key(tok[1])
            i += 1
            op = peek()
            if op in (("end", None), ("op", ",")):
                requirements.append(("exists", key))
            elif op[0] == "op" and op[1] in ("=", "==", "!=", ">", "<"):
                i += 1
                nxt = peek()
                if nxt[0] == "id":
                    value = nxt[1]
                    i += 1
                elif nxt in (("end", None), ("op", ",")) and op[1] not in (">", "<"):
                    value = ""
                else:
                    raise ValueError(f"expected a value after {op[1]!r} in {text!r}")
                if op[1] in (">", "<"):
                    if not re.fullmatch(r"-?[0-9]+", value):
                        raise ValueError(f"for 'gt', 'lt' operators, the value must be an integer: {value!r}")
                    bound = int(value)

                    def compare(labels, k=key, b=bound, gt=op[1] == ">"):
                        v = labels.get(k)
                        if v is None or not re.fullmatch(r"-?[0-9]+", v):
                            return False
                        return int(v) > b if gt else int(v) < b
                    requirements.append(("scan", compare))
                else:
                    requirements.append(("notin" if op[1] == "!=" else "in", key, frozenset([_value(value)])))
            elif op[0] == "id" and op[1] in ("in", "notin"):
                i += 1
                if peek() != ("op", "("):
                    raise ValueError(f"expected '(' after {op[1]!r} in {text!r}")
                i += 1
                # `(a,b)`; an empty element (`()`, `(,a)`, `(a,)`) is the empty value, as in Kubernetes.
                values, current = set(), None
                while True:
                    nxt = peek()
                    i += 1
                    if nxt[0] == "id" and current is None:
                        current = _value(nxt[1])
                    elif nxt == ("op", ","):
                        values.add(current or "")
                        current = None
                    elif nxt == ("op", ")"):
                        values.add(current or "")
                        break
                    else:
                        raise ValueError(f"expected a value, ',' or ')' in the values of {text!r}")
                requirements.append((op[1], key, frozenset(values)))
            else:
                raise ValueError(f"unable to parse requirement: unexpected {op[1]!r} after {key!r} in {text!r}")
        else:
            raise ValueError(f"unable to parse requirement: unexpected {tok[1]!r} in {text!r}")
        # After a requirement: the end, or a comma and another requirement.
        sep = peek()
        if sep == ("end", None):
            break
        if sep != ("op", ","):
            raise ValueError(f"expected ',' between requirements in {text!r}")
        i += 1
        if peek()[0] != "id" and peek() != ("op", "!"):
            raise ValueError(f"expected an identifier after ',' in {text!r}")
    return Selector(requirements)


class Selector:
    """A parsed label selector: called on an object's labels, it says whether it selects them;
    its `requirements` also let the cluster's label index answer without calling it on every
    object."""

    def __init__(self, requirements):
        self.requirements = requirements

    def __call__(self, labels):
        return all(self.holds(r, labels) for r in self.requirements)

    @staticmethod
    def holds(requirement, labels):
        op, key = requirement[0], requirement[1]
        if op == "scan":
            return requirement[1](labels)
        if op == "in":
            return labels.get(key) in requirement[2]
        if op == "notin":
            return labels.get(key) not in requirement[2]
        if op == "exists":
            return key in labels
        return key not in labels  # "absent"


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


def bad_request(message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": "BadRequest", "code": 400}


class Cluster:
    """The objects, kept as their encoded list items (bytes) beside their labels, so that a
    100,000-VM cluster costs its JSON, not Python dicts; a list page is then a join of bytes and
    the fake server's own cost stays far below policy-server's. What a selector selects is
    computed once per (kind, selector), from an index of the labels (key -> value -> objects):
    a test of every object's labels in Python cost 150 ms per new selector at 100,000 Pods, which
    made the fake, not policy-server, most of the cost of opening a block's watches."""

    def __init__(self, objects=None):
        self.encoded = {kind: [] for kind in RESOURCES}
        self.labels = {kind: [] for kind in RESOURCES}
        self.by_name = {kind: {} for kind in RESOURCES}
        self.index = {kind: {} for kind in RESOURCES}
        self.selected = {}
        self.lock = threading.Lock()
        for kind, items in (objects or {}).items():
            for obj in items:
                self.add(kind, obj)

    def add(self, kind, obj):
        metadata = obj["metadata"]
        self.by_name[kind][(metadata.get("namespace"), metadata["name"])] = len(self.encoded[kind])
        labels = metadata.get("labels") or {}
        for key, value in labels.items():
            self.index[kind].setdefault(key, {}).setdefault(value, []).append(len(self.labels[kind]))
        self.labels[kind].append(labels)
        self.encoded[kind].append(json.dumps(self.listed(kind, obj), separators=(",", ":")).encode())

    def count(self):
        return sum(map(len, self.encoded.values()))

    @staticmethod
    def listed(kind, obj):
        # The API server lists core objects without apiVersion/kind.
        if kind in ("Pod", "Namespace"):
            return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
        return obj

    def get(self, kind, namespace, name):
        index = self.by_name.get(kind, {}).get((namespace, name))
        if index is None:
            return None
        obj = json.loads(self.encoded[kind][index])
        if kind in ("Pod", "Namespace"):
            obj = {"apiVersion": "v1", "kind": kind, **obj}
        return obj

    def select(self, kind, selector):
        key = (kind, selector or "")
        with self.lock:
            chosen = self.selected.get(key)
        if chosen is None:
            selects = parse_selector(selector)  # ValueError: a bad request
            encoded = self.encoded.get(kind, [])
            if not selector:
                chosen = encoded
            else:
                chosen = [encoded[i] for i in self.matching(kind, selects)]
            with self.lock:
                self.selected[key] = chosen
        return chosen

    def matching(self, kind, selects):
        """The positions (ascending) of the objects of `kind` that `selects` selects. A selector
        with an `=`, `in` or bare-key requirement tests only the objects that requirement's index
        entry holds; one of `!=`, `notin` and `!key` alone selects everything outside theirs; `>`
        and `<` test every object."""
        labels = self.labels.get(kind, [])
        index = self.index.get(kind, {})
        requirements = selects.requirements

        def having(key, values=None):
            by_value = index.get(key, {})
            lists = by_value.values() if values is None else [by_value.get(v, ()) for v in values]
            return set().union(*lists)

        if any(r[0] == "scan" for r in requirements):
            return [i for i, object_labels in enumerate(labels) if selects(object_labels)]
        positives = [having(r[1], r[2] if r[0] == "in" else None)
                     for r in requirements if r[0] in ("in", "exists")]
        if positives:
            return sorted(i for i in min(positives, key=len) if selects(labels[i]))
        excluded = set().union(*(having(r[1], r[2] if r[0] == "notin" else None) for r in requirements))
        return [i for i in range(len(labels)) if i not in excluded]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024
    allow_reuse_address = True

    def get_request(self):
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cluster = None
    stats = Counter()
    stats_lock = threading.Lock()

    def log_message(self, fmt, *args):
        if os.environ.get("FAKE_APISERVER_LOG"):
            sys.stderr.write(f"fake-apiserver {time.time():.3f} :{self.client_address[1]}: " + fmt % args + "\n")

    def send_json(self, status, body):
        data = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if not KEEP_ALIVE:
            self.send_header("Connection", "close")
            self.close_connection = True
        # Headers and body in one write.
        self._headers_buffer.append(b"\r\n")
        self._headers_buffer.append(data)
        self.flush_headers()

    def count(self, key, by=1):
        with self.stats_lock:
            self.stats[key] += by
            if key == "open watches":
                self.stats["open watches peak"] = max(self.stats["open watches peak"], self.stats[key])

    def do_GET(self):
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        path = url.path.rstrip("/")
        if path == "/_stats":
            with self.stats_lock:
                stats = dict(self.stats)
            stats.setdefault("open watches", 0)
            stats.setdefault("open watches peak", 0)
            stats["tcp_nodelay"] = self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            return self.send_json(200, stats)
        if path == "/api/v1":
            return self.send_json(200, discovery("v1", ["Namespace", "Pod"]))
        if path == "/apis/kubevirt.io/v1":
            return self.send_json(200, discovery("kubevirt.io/v1", ["VirtualMachine"]))
        if path == "/version":
            return self.send_json(200, {"major": "1", "minor": "34", "gitVersion": "v1.34.0-fake"})
        if m := re.fullmatch(r"/api/v1/namespaces/([^/]+)", path):
            self.count("get Namespace")
            obj = self.cluster.get("Namespace", None, m[1])
            if obj is None:
                return self.send_json(404, not_found("namespaces", "", m[1]))
            return self.send_json(200, obj)
        for kind, (prefix, plural, list_kind, api_version) in RESOURCES.items():
            if kind == "Namespace":
                continue
            if path == f"{prefix}/{plural}":
                selector = query.get("labelSelector") or ""
                what = f"{kind} {selector}" if selector else kind
                if query.get("watch") in ("true", "1"):
                    self.count(f"watch {what}")
                    return self.watch(kind, api_version, query)
                self.count("pages")
                if not query.get("continue"):
                    self.count(f"list {what}")
                return self.list(kind, list_kind, api_version, query)
            if m := re.fullmatch(re.escape(prefix) + r"/namespaces/([^/]+)/" + plural + r"/([^/]+)", path):
                self.count(f"get {kind}")
                obj = self.cluster.get(kind, m[1], m[2])
                if obj is None:
                    group = api_version.split("/")[0] if "/" in api_version else ""
                    return self.send_json(404, not_found(plural, group, m[2]))
                return self.send_json(200, obj)
        self.count("unknown " + path)
        self.send_json(404, not_found("", "", path))

    def list(self, kind, list_kind, api_version, query):
        try:
            chosen = self.cluster.select(kind, query.get("labelSelector"))
        except ValueError as e:
            return self.send_json(400, bad_request(str(e)))
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
        """Nothing ever changes: a bookmark now and then until the watch times out or the
        client goes away."""
        try:
            parse_selector(query.get("labelSelector"))
        except ValueError as e:
            return self.send_json(400, bad_request(str(e)))
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        bookmark = json.dumps({"type": "BOOKMARK", "object": {
            "kind": kind, "apiVersion": api_version,
            "metadata": {"resourceVersion": RESOURCE_VERSION,
                         "annotations": {"k8s.io/initial-events-end": "true"}}}},
            separators=(",", ":")).encode() + b"\n"
        seconds = min(int(query.get("timeoutSeconds") or 290), 290)
        poller = select.poll()
        poller.register(self.connection, select.POLLIN | select.POLLERR | select.POLLHUP)
        self.count("open watches")
        try:
            for _ in range(max(1, seconds // BOOKMARK_SECONDS)):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(bookmark), bookmark))
                self.wfile.flush()
                # The client sends nothing on a watch: readable means it closed (or broke) it.
                # (poll, not select: select fails on descriptors above 1023, and hundreds of
                # watches get there.)
                if poller.poll(BOOKMARK_SECONDS * 1000):
                    return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:  # BrokenPipeError, ConnectionResetError, ...
            pass
        finally:
            self.count("open watches", -1)


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


def raise_open_files_limit():
    """One descriptor per connection, and policy-server holds up to 514 watches (more with
    several replicas or floors beside it): lift the soft limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 1 << 20, hard))
        except (ValueError, OSError):
            pass


def serve(cluster, port=0):
    """A running server (in a daemon thread) for `cluster`: returns (server, port)."""
    Handler.cluster = cluster
    server = Server(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--cluster", help="JSON file: {\"Namespace\": [...], \"VirtualMachine\": [...], \"Pod\": [...]}")
    source.add_argument("--generate", help="VMS:PODS, a generated cluster (kmp.synthetic)")
    parser.add_argument("--mac-share", type=float, default=0.05, help="with --generate: pods holding a Multus MAC")
    parser.add_argument("--adoption", choices=generated.ADOPTIONS, default="adopted",
                        help="with --generate: which objects carry the index labels (kmp.synthetic)")
    parser.add_argument("--extra", help="JSON file of the --cluster form: objects added to the cluster")
    parser.add_argument("--keep-alive", action="store_true",
                        help="keep connections open between requests (see the module comment)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", help="where to write the port once listening")
    parser.add_argument("--kubeconfig", help="where to write a kubeconfig for this server")
    args = parser.parse_args()
    global KEEP_ALIVE
    KEEP_ALIVE = args.keep_alive
    raise_open_files_limit()

    cluster = Cluster()
    if args.cluster:
        with open(args.cluster) as f:
            for kind, items in json.load(f).items():
                for obj in items:
                    cluster.add(kind, obj)
    else:
        vms, pods = (int(n) for n in args.generate.split(":"))
        for kind, obj in generated.objects(vms, pods, args.mac_share, args.adoption):
            cluster.add(kind, obj)
    if args.extra:
        with open(args.extra) as f:
            for kind, items in json.load(f).items():
                for obj in items:
                    cluster.add(kind, obj)
    Handler.cluster = cluster
    server = Server(("127.0.0.1", args.port), Handler)
    port = server.server_address[1]
    if args.kubeconfig:
        with open(args.kubeconfig, "w") as f:
            f.write(kubeconfig(port))
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(port))
        os.replace(args.port_file + ".tmp", args.port_file)
    print(f"fake-apiserver: {cluster.count()} objects on 127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
