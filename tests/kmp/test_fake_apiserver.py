"""Self-test of the fake API server (`make unit-tests`, or `python3 -m unittest discover -s
tests/kmp -t tests`): label selectors mean what they mean in Kubernetes, and open watches (one per
reflector in policy-server, up to 514 with `inventory: indexed`), 50 in-process and 520 against
the server's own process, neither stall a LIST nor a new watch."""

import http.client
import json
import os
import socket
import time
import unittest

import kmp
from kmp import fake_apiserver as fake
from kmp import synthetic as generated

TRACKED = "kubemacpool.io/tracked"
INDEXED = "kubemacpool.io/indexed"
SPAN_3F = "mac-blocks.kubemacpool.io/3c-3f"


class Selectors(unittest.TestCase):
    LABELS = {
        "none": {},
        "tracked": {TRACKED: "true"},
        "indexed": {TRACKED: "true", INDEXED: "v2", SPAN_3F: ""},
        "old-index": {TRACKED: "true", INDEXED: "v0"},
        "untracked-indexed": {INDEXED: "v2"},
        "tier": {"tier": "web", "n": "7"},
    }

    def selected(self, selector):
        selects = fake.parse_selector(selector)
        return {name for name, labels in self.LABELS.items() if selects(labels)}

    def test_semantics(self):
        everything = set(self.LABELS)
        cases = {
            "": everything,
            f"{TRACKED}=true": {"tracked", "indexed", "old-index"},
            f"{TRACKED}==true": {"tracked", "indexed", "old-index"},
            f"{TRACKED} = true": {"tracked", "indexed", "old-index"},
            # != holds where the key is absent, as in Kubernetes
            f"{INDEXED}!=v2": everything - {"indexed", "untracked-indexed"},
            f"{TRACKED}=true,{INDEXED}!=v2": {"tracked", "old-index"},
            f" {TRACKED}=true , {INDEXED}!=v2 ": {"tracked", "old-index"},
            SPAN_3F: {"indexed"},
            f"!{SPAN_3F}": everything - {"indexed"},
            f"!{INDEXED}": {"none", "tracked", "tier"},
            f"{SPAN_3F}=": {"indexed"},  # the label's value is the empty string
            f"{INDEXED} in (v2,v0)": {"indexed", "old-index", "untracked-indexed"},
            f"{INDEXED} in (v2, v0)": {"indexed", "old-index", "untracked-indexed"},
            f"{INDEXED} in (v0)": {"old-index"},
            # notin, like !=, holds where the key is absent
            f"{INDEXED} notin (v2)": everything - {"indexed", "untracked-indexed"},
            f"{INDEXED} notin (v2,v0)": {"none", "tracked", "tier"},
            f"{SPAN_3F} in ()": {"indexed"},  # () is the empty value
            "tier in (web),n>5": {"tier"},
            "n<5": set(),
            f"{TRACKED},!{INDEXED}": {"tracked"},
        }
        for selector, expected in cases.items():
            with self.subTest(selector=selector):
                self.assertEqual(self.selected(selector), expected)
                self.assertEqual(self.selected_by_index(selector), expected)

    def selected_by_index(self, selector):
        """What the cluster's label index answers: the same objects, in the cluster's order."""
        cluster = fake.Cluster({"Pod": [{"metadata": {"namespace": "default", "name": name, "labels": labels}}
                                        for name, labels in self.LABELS.items()]})
        chosen = [json.loads(item)["metadata"]["name"] for item in cluster.select("Pod", selector)]
        self.assertEqual(chosen, [name for name in self.LABELS if name in chosen])  # the cluster's order
        return set(chosen)

    def test_the_index_selects_what_a_scan_selects(self):
        # Every selector kind the policy sends, and their mixes, over a generated cluster.
        # (VM span fc-ff and Pod span f0-ff hold objects at this size; 3c-3f on Pods and the
        # Pod-width spelling on VMs hold none)
        span_fe = "mac-blocks.kubemacpool.io/fc-ff"
        selectors = [f"mac-blocks.kubemacpool.io/{s}" for s in ("00-03", "3c-3f", "fc-ff", "f0-ff")] + [
            f"{INDEXED}!=v2", f"{TRACKED}=true,{INDEXED}!=v2", f"!{INDEXED}", f"{INDEXED} notin (v2,v0)",
            f"{TRACKED},!{SPAN_3F}", f"{INDEXED} in (v2),{span_fe}", f"{span_fe},{INDEXED}!=v0",
            "kubevirt.io/created-by", f"{TRACKED}=true,n>5"]
        selected_nothing = set(selectors)
        for adoption in ("half", "none"):
            objects = generated.generate(300, 3000, adoption=adoption)
            cluster = fake.Cluster(objects)
            for kind, items in objects.items():
                for selector in selectors:
                    with self.subTest(adoption=adoption, kind=kind, selector=selector):
                        selects = fake.parse_selector(selector)
                        scanned = [i for i, o in enumerate(items) if selects(o["metadata"].get("labels") or {})]
                        self.assertEqual(list(cluster.matching(kind, selects)), scanned)
                        if scanned:
                            selected_nothing.discard(selector)
        self.assertEqual(selected_nothing, {f"{TRACKED}=true,n>5"})

    def test_refused(self):
        for selector in ("a=b=c", "a in b", "a in (b", "a,", ",a", "a notin", "!", "a b", "a>b",
                         "-a=b", "a=b c", "a==(b)"):
            with self.subTest(selector=selector), self.assertRaises(ValueError):
                fake.parse_selector(selector)


class GeneratedCluster(unittest.TestCase):
    def test_allocation_hash_is_the_policys(self):
        # kubemacpool-policy (pods-tracked, empty cluster) gives VM tenant-07/new-vm's interface
        # `default` 02:e4:2a:ec:f8:02: the pool start plus hash mod 2^40.
        h = generated.allocation_hash(["", "VirtualMachine", "tenant-07", "new-vm", "default"])  # seed ""
        self.assertEqual(h % (1 << 40), 0xe42aecf802)

    def test_index_labels(self):
        objects = generated.generate(600, 3000, adoption="adopted")
        blocks = set()
        for vm in objects["VirtualMachine"]:
            labels = vm["metadata"]["labels"]
            macs = [i["macAddress"] for i in vm["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"]]
            self.assertEqual({k for k in labels if k.startswith(generated.SPAN_PREFIX)},
                             {generated.span_label("VirtualMachine", generated.block(m)) for m in macs})
            self.assertEqual(labels[generated.INDEXED], "v2")
            blocks.update(generated.block(m) for m in macs)
        self.assertEqual(len(blocks), 256)
        for pod in objects["Pod"]:
            labels = pod["metadata"]["labels"]
            tracked = labels.get(generated.TRACKED) == "true"
            self.assertEqual(tracked, generated.INDEXED in labels)
            if tracked:
                macs = [e["mac"] for e in json.loads(pod["metadata"]["annotations"][generated.NETWORKS])]
                self.assertEqual({k for k in labels if k.startswith(generated.SPAN_PREFIX)},
                                 {generated.span_label("Pod", generated.block(m)) for m in macs})
        held = generated.held_macs(600, 3000)
        self.assertEqual(len(held), 2 * 600 + generated.count(600, 3000)["tracked_pods"])

    def test_next_in_block(self):
        self.assertEqual(generated.next_in_block("02:00:00:00:3f:ff"), "02:00:00:01:3f:00")
        self.assertEqual(generated.block(generated.search_start("Pod", "ns", "p", "net")),
                         generated.object_block("Pod", "ns", "p"))


def get(port, path, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("GET", path)
    reply = conn.getresponse()
    body = reply.read()
    conn.close()
    return reply.status, json.loads(body)


def open_watch(port, selector):
    """A watch as kube-rs opens it; returns the socket once the first bookmark arrived."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    path = f"/api/v1/pods?watch=true&labelSelector={selector}&allowWatchBookmarks=true&timeoutSeconds=290"
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: fake\r\n\r\n".encode())
    data = b""
    while b"BOOKMARK" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("watch closed early")
        data += chunk
    assert data.startswith(b"HTTP/1.1 200"), data[:100]
    return sock


class Server(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server, cls.port = fake.serve(fake.Cluster(generated.generate(300, 3000, adoption="half")))

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def test_lists_select_by_label(self):
        status, body = get(self.port, "/apis/kubevirt.io/v1/virtualmachines?labelSelector=kubemacpool.io/indexed!=v2")
        self.assertEqual(status, 200)
        self.assertEqual(len(body["items"]), 150)  # the odd half of 300
        status, body = get(self.port, "/apis/kubevirt.io/v1/virtualmachines?labelSelector=mac-blocks.kubemacpool.io/04-07")
        # VMs 4-7 and 260-263 are in span 04-07; the even ones are indexed
        self.assertEqual(sorted(o["metadata"]["name"] for o in body["items"]),
                         ["vm-00004", "vm-00006", "vm-00260", "vm-00262"])
        status, body = get(self.port, "/api/v1/pods?labelSelector=kubemacpool.io/tracked=true,kubemacpool.io/indexed!=v2")
        self.assertEqual(body["items"], [])  # every tracked pod is indexed in the half-adopted cluster
        status, body = get(self.port, "/api/v1/pods?labelSelector=a%20in%20(b")
        self.assertEqual(status, 400)

    def test_the_seed_namespace_is_served_by_name(self):
        status, body = get(self.port, "/api/v1/namespaces/kube-system")
        self.assertEqual((status, body["kind"], body["metadata"]["uid"]),
                         (200, "Namespace", generated.KUBE_SYSTEM_UID))
        status, body = get(self.port, "/api/v1/namespaces/nowhere")
        self.assertEqual((status, body["reason"]), (404, "NotFound"))

    def test_pages(self):
        names = []
        token = ""
        while True:
            status, body = get(self.port, f"/api/v1/pods?labelSelector=kubemacpool.io/tracked%3Dtrue&limit=50&continue={token}")
            names += [o["metadata"]["name"] for o in body["items"]]
            token = body["metadata"].get("continue")
            if not token:
                break
        self.assertEqual(len(names), len(set(names)))
        self.assertEqual(len(names), generated.count(300, 3000)["tracked_pods"])

    def test_nodelay_and_one_connection_per_request(self):
        status, body = get(self.port, "/_stats")
        self.assertNotEqual(body["tcp_nodelay"], 0)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", "/api/v1")
        reply = conn.getresponse()
        reply.read()
        self.assertEqual(reply.getheader("Connection"), "close")
        conn.close()

    def test_open_watches_do_not_stall_lists(self):
        watches = []
        try:
            start = time.monotonic()
            for n in range(50):
                watches.append(open_watch(self.port, f"mac-blocks.kubemacpool.io/{n:02x}-{n:02x}"))
            opened = time.monotonic() - start
            self.assertLess(opened, 10, "50 watches took too long to open")
            status, stats = get(self.port, "/_stats")
            self.assertGreaterEqual(stats["open watches"], 50)
            # With the 50 watches open: a LIST (and a new watch) answer at once.
            for _ in range(3):
                start = time.monotonic()
                status, body = get(self.port, "/api/v1/pods?labelSelector=kubemacpool.io/tracked%3Dtrue", timeout=5)
                self.assertEqual(status, 200)
                self.assertLess(time.monotonic() - start, 1.0)
            start = time.monotonic()
            watches.append(open_watch(self.port, "kubemacpool.io/tracked=true"))
            self.assertLess(time.monotonic() - start, 1.0)
        finally:
            for sock in watches:
                sock.close()
        # The server notices closed watches at once, not at the next bookmark.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if get(self.port, "/_stats")[1]["open watches"] == 0:
                break
            time.sleep(0.05)
        self.assertEqual(get(self.port, "/_stats")[1]["open watches"], 0)


class ManyWatches(unittest.TestCase):
    """As many watches as one policy-server holds with `inventory: indexed` and every block in
    use (256 blocks x 2 kinds + 2 legacy lists), against the server run as the benchmark runs it
    (its own process)."""

    WATCHES = 514 + 6

    def setUp(self):
        fake.raise_open_files_limit()
        import resource
        if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < self.WATCHES + 100:
            self.skipTest("too few open files allowed for this test")
        import subprocess
        import tempfile
        self.dir = tempfile.TemporaryDirectory()
        port_file = os.path.join(self.dir.name, "port")
        self.server = subprocess.Popen(kmp.command("fake_apiserver", "--generate", "300:3000", "--port-file", port_file),
                                       env=kmp.environ(), stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not os.path.exists(port_file):
            self.assertLess(time.monotonic(), deadline, "the fake API server did not start")
            time.sleep(0.05)
        with open(port_file) as f:
            self.port = int(f.read())

    def tearDown(self):
        self.server.terminate()
        self.server.wait()
        self.dir.cleanup()

    def test_hundreds_of_watches(self):
        watches = []
        try:
            start = time.monotonic()
            for n in range(self.WATCHES):
                watches.append(open_watch(self.port, f"mac-blocks.kubemacpool.io/{n % 256:02x}-{n % 256:02x}"))
            self.assertLess(time.monotonic() - start, 30, f"{self.WATCHES} watches took too long to open")
            self.assertEqual(get(self.port, "/_stats")[1]["open watches"], self.WATCHES)
            start = time.monotonic()
            status, body = get(self.port, "/apis/kubevirt.io/v1/virtualmachines?labelSelector=kubemacpool.io/indexed!%3Dv1",
                               timeout=5)
            self.assertEqual(status, 200)
            watches.append(open_watch(self.port, "kubemacpool.io/tracked=true"))
            self.assertLess(time.monotonic() - start, 2.0)
        finally:
            for sock in watches:
                sock.close()


if __name__ == "__main__":
    unittest.main()
