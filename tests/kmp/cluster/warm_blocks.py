"""Primes a fresh policy-server's per-block watches before a burst (cluster.bats, concurrency).

Under `inventory: indexed` the first admission that needs a block makes policy-server create
that block's two reflectors and wait for their initial lists, one after the other (182 ms p50
for the two on the test API server at 10,000 VMs + 100,000 Pods, kube-apiserver's selection by
label: docs/performance.md). A burst of 400 creates landing in ~256 new blocks at once
therefore queues for seconds, past the webhooks' 10 s timeout now and then: a cold-start cost,
which docs/operations.md states, not what the concurrency tests measure (collisions). This sends one
dry-run VM CREATE per block straight to the replica, each requesting a MAC of that block (under
`duplicateMacs: warn` the policy lists the requested MAC's block), so every block's watches exist.

A block's first request may still outlast policy-server's evaluation timeout while its watches
start on a loaded machine; it is then asked again (the watches keep starting), for at most 330 s:
now and then (about one new watch in a thousand here) policy-server 1.35's Kubernetes client sends a
new watch's initial LIST on a connection that still carries an older watch, and the LIST waits for
that watch to end at its 290 s timeout (docs/operations.md, Watches and connections). Such a block
is waited for and named, never skipped. The slowest block is reported. WARM_RETRY_FOR (seconds)
changes the 330.

    python3 -m kmp.cluster.warm_blocks URL CA_FILE POLICY_NAME [BLOCKS]   (the first BLOCKS blocks; default all 256)
"""

import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request


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


# a block's two watches start in well under a second, or in 290 s when a LIST waits behind an
# older watch (above); beyond that something is wrong
RETRY_FOR = int(os.environ.get("WARM_RETRY_FOR", "330"))
STALLED = 60  # s; a block slower than this is named on stderr


def main():
    url, ca, policy = sys.argv[1:4]
    blocks = int(sys.argv[4]) if len(sys.argv) > 4 else 256
    context = ssl.create_default_context(cafile=ca)
    start = time.monotonic()
    slowest = (0.0, 0)
    for block in range(blocks):
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
                sys.exit(f"warm_blocks.py: block {block:02x}: no answer within {RETRY_FOR} s: {error}")
            interrupted = "exceeded the allowed execution time" in (response.get("status") or {}).get("message", "")
            # The evaluation gave up waiting for the new watch (timeoutEvalSeconds); the watch
            # itself is still on its way: ask again until it is.
            if not interrupted:
                break
            if time.monotonic() - sent > RETRY_FOR:
                sys.exit(f"warm_blocks.py: block {block:02x}: no answer within {RETRY_FOR} s: {response.get('status')}")
            time.sleep(1)
        took = time.monotonic() - sent
        if took > STALLED:
            print(f"warm_blocks.py: block {block:02x} took {took:.0f} s (a new watch's LIST that waited for an older watch's end)",
                  file=sys.stderr)
        slowest = max(slowest, (took, block))
        if not response.get("allowed"):
            sys.exit(f"warm_blocks.py: block {block:02x} refused: {response.get('status')}")
    print(f"{time.monotonic() - start:.1f} s (slowest: block {slowest[1]:02x}, {slowest[0]:.1f} s)")


if __name__ == "__main__":
    main()
