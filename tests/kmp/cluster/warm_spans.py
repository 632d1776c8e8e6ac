"""Primes a fresh policy-server's index watches (every VM span, every Pod span and the two legacy
lists: at most 82, behaviour.md 7.1) before a burst (cluster.bats, concurrency; the benchmarks).

Under `inventory: indexed` the first admission that needs a span makes policy-server create that
span's reflector and wait for its initial list (kube-apiserver scans every object of the kind for
it: 17-30 ms for VMs at 10,000, 30-110 ms for Pods at 100,000, ../shared/research). A burst
into a replica that has just started pays those lists as it meets new spans. Users need not
prime (the first admission of a span costs one or two such lists, docs/operations.md); the tests
prime because the cold start is not what the concurrency tests measure (collisions), and the
benchmarks to tell warm from cold. This sends one dry-run VM CREATE straight to the replica for
each block that opens a VM span or a Pod span not opened yet (the span labels are the policy's,
kmp.protocol), each requesting a MAC of that block (under `duplicateMacs: warn` the policy lists
the requested MAC's spans), so every index watch exists: 64 requests.

A span's first request may still outlast policy-server's evaluation timeout while its watch
starts on a loaded machine; it is then asked again (the watch keeps starting), for at most 330 s:
now and then policy-server 1.35's Kubernetes client sends a new watch's initial LIST on a
connection that still carries an older watch, and the LIST waits for that watch to end at its
290 s timeout (docs/operations.md, Watches and connections). Such a span is waited for and named,
never skipped. The slowest is reported. WARM_RETRY_FOR (seconds) changes the 330.

    python3 -m kmp.cluster.warm_spans URL CA_FILE POLICY_NAME
"""

import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

from kmp import protocol


def review(block):
    mac = f"02:00:00:00:{block:02x}:01"
    vm = {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
        "metadata": {"name": f"warm-{block:02x}", "namespace": "warm"},
        "spec": {"template": {"spec": {
            "domain": {"devices": {"interfaces": [{"name": "blue", "bridge": {}, "macAddress": mac}]}},
            "networks": [{"name": "blue", "multus": {"networkName": "blue"}}]}}},
    }
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": f"warm-{block}", "operation": "CREATE", "namespace": "warm", "name": vm["metadata"]["name"],
        "kind": {"group": "kubevirt.io", "version": "v1", "kind": "VirtualMachine"},
        "resource": {"group": "kubevirt.io", "version": "v1", "resource": "virtualmachines"},
        "userInfo": {"username": "warm-up"}, "object": vm, "oldObject": None, "dryRun": True}}


# a span's watch starts in well under a second, or in 290 s when a LIST waits behind an
# older watch (above); beyond that something is wrong
RETRY_FOR = int(os.environ.get("WARM_RETRY_FOR", "330"))
STALLED = 60  # s; a span slower than this is named on stderr


def priming_blocks():
    """The blocks whose requests open every VM span and every Pod span once."""
    opened, blocks = set(), []
    for block in range(256):
        spans = {protocol.span_label(kind, f"{block:02x}") for kind in ("VirtualMachine", "Pod")}
        if not spans <= opened:
            opened |= spans
            blocks.append(block)
    return blocks


def main():
    url, ca, policy = sys.argv[1:4]
    context = ssl.create_default_context(cafile=ca)
    start = time.monotonic()
    slowest = (0.0, 0)
    for block in priming_blocks():
        body = json.dumps(review(block)).encode()
        sent = time.monotonic()
        while True:
            request = urllib.request.Request(f"{url}/validate/{policy}", body, {"Content-Type": "application/json"})
            left = RETRY_FOR - (time.monotonic() - sent)
            try:
                with urllib.request.urlopen(request, context=context, timeout=max(left, 1)) as answer:
                    response = json.load(answer)["response"]
            except (TimeoutError, urllib.error.URLError) as error:
                # an evaluation blocked in a stalled LIST answers only when the LIST does (290 s)
                sys.exit(f"warm_spans: the spans of block {block:02x}: no answer within {RETRY_FOR} s: {error}")
            interrupted = "exceeded the allowed execution time" in (response.get("status") or {}).get("message", "")
            # The evaluation gave up waiting for the new watch (timeoutEvalSeconds); the watch
            # itself is still on its way: ask again until it is.
            if not interrupted:
                break
            if time.monotonic() - sent > RETRY_FOR:
                sys.exit(f"warm_spans: the spans of block {block:02x}: no answer within {RETRY_FOR} s: {response.get('status')}")
            time.sleep(1)
        took = time.monotonic() - sent
        if took > STALLED:
            print(f"warm_spans: the spans of block {block:02x} took {took:.0f} s (a new watch's LIST that waited for an older watch's end)",
                  file=sys.stderr)
        slowest = max(slowest, (took, block))
        if not response.get("allowed"):
            sys.exit(f"warm_spans: the spans of block {block:02x} refused: {response.get('status')}")
    print(f"{time.monotonic() - start:.1f} s (slowest: the spans of block {slowest[1]:02x}, {slowest[0]:.1f} s)")


if __name__ == "__main__":
    main()
