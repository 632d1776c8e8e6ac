"""The policy's protocol for the Python tooling, from the policy's core through `xtask`: the list
calls (kinds, field masks), the seed's Namespace, the label keys and selectors (`xtask protocol`),
and the allocation hash and block and span geometry of `inventory: indexed` (`xtask hash`). The fixture
generator, the fake API server's cluster generator and the engine benchmark use these and spell
none of them again, so a change to a selector, a mask or the hash is made once, in `src/`.

`xtask` is `target/debug/xtask` (`make target/debug/xtask`), or $XTASK.
"""

import atexit
import functools
import json
import os
import subprocess
import threading

from kmp import REPO

XTASK = os.environ.get("XTASK") or os.path.join(REPO, "target", "debug", "xtask")


def _xtask():
    if not os.access(XTASK, os.X_OK):
        raise SystemExit(f"protocol.py: no {XTASK}: build it with `make target/debug/xtask` "
                         "(or set XTASK)")
    return XTASK


@functools.cache
def describe():
    """`xtask protocol`: the list calls, annotations, labels and selectors."""
    out = subprocess.run([_xtask(), "protocol"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


_P = describe()
LISTS = _P["lists"]
NETWORKS = _P["annotations"]["networks"]
TRACKED, TRACKED_VALUE = _P["labels"]["tracked"]
INDEXED, INDEXED_VALUE = _P["labels"]["indexed"]
SPAN_PREFIX = _P["labels"]["spanPrefix"]
V1_BLOCK_PREFIX = _P["labels"]["v1BlockPrefix"]
SEED = _P["seed"]
TRACKED_SELECTOR = _P["selectors"]["tracked"]
LEGACY_VM_SELECTOR = _P["selectors"]["legacyVirtualMachines"]
LEGACY_POD_SELECTOR = _P["selectors"]["legacyPods"]


class _Service:
    """One `xtask hash` process, asked one question per line."""

    def __init__(self):
        self._process = None
        self._lock = threading.Lock()

    def ask(self, *question):
        with self._lock:
            if self._process is None:
                self._process = subprocess.Popen([_xtask(), "hash"], stdin=subprocess.PIPE,
                                                 stdout=subprocess.PIPE, text=True, bufsize=1)
                atexit.register(self.close)
            self._process.stdin.write(json.dumps(list(question)) + "\n")
            line = self._process.stdout.readline()
            if not line:
                raise RuntimeError(f"xtask hash gave no answer to {list(question)}")
            return json.loads(line)

    def close(self):
        if self._process is not None:
            self._process.stdin.close()
            self._process.wait()
            self._process = None


_service = _Service()


def allocation_hash(parts):
    """The policy's allocation hash of `parts` (behaviour.md section 6)."""
    return int(_service.ask("hash", *parts))


@functools.cache
def object_block(kind, namespace, name, seed="", settings=None):
    """The block (two hex digits) `indexed` allocates an object's MACs in, on the default range
    or on the range of `settings` (JSON text)."""
    if settings is None:
        return _service.ask("object-block", kind, namespace, name, seed)
    return _service.ask("object-block", kind, namespace, name, seed, settings)


@functools.cache
def search_start(kind, namespace, name, place, seed=""):
    """Where `indexed` starts the search for `place` (an interface, or a Multus network's hash
    name) on the default range."""
    return _service.ask("search-start", kind, namespace, name, place, seed)


_DOUBLES_UID = object()


def record(request, vms=(), pods=(), settings=None, kube_system_uid=_DOUBLES_UID):
    """The replay session of the calls the policy makes for `request` (an AdmissionRequest) on a
    cluster of `vms` and `pods` whose kube-system Namespace has `kube_system_uid` (None: the
    cluster has no such Namespace; not given: the test doubles' uid), with the host's answers
    (`xtask record`)."""
    job = {"request": request, "settings": settings or {}, "vms": list(vms), "pods": list(pods)}
    if kube_system_uid is not _DOUBLES_UID:
        job["kubeSystemUid"] = kube_system_uid
    out = subprocess.run([_xtask(), "record"], input=json.dumps(job), check=True,
                         capture_output=True, text=True)
    return out.stdout


def block_of(mac):
    """The block of a MAC: its fifth octet, two lower-case hex digits."""
    return mac.replace("-", ":").split(":")[4].lower()


@functools.cache
def span_label(kind, block):
    """The index label of a `kind` holding a MAC of `block` (two hex digits): its span's label,
    also the span list's selector (behaviour.md 7.1)."""
    return _service.ask("span-label", kind, block)


def index_labels(kind, macs):
    """The labels the policy writes on a `kind` that holds `macs`."""
    labels = {TRACKED: TRACKED_VALUE, INDEXED: INDEXED_VALUE} if macs else {}
    labels.update({span_label(kind, block_of(m)): "" for m in macs})
    return labels
