#!/usr/bin/env python3
"""Primes a fresh policy-server's per-block watches before a burst (cluster.bats, concurrency).

Under `inventory: indexed` the first admission that needs a block makes policy-server create
that block's two reflectors and wait for their initial lists (about 80 ms each time, one after
the other: docs/performance.md). A burst of 400 creates landing in ~256 new blocks at once
therefore queues for seconds, past the webhooks' 10 s timeout now and then: a cold-start cost,
which docs/operations.md states, not what the concurrency tests measure (collisions). This sends one
dry-run VM CREATE per block straight to the replica, each requesting a MAC of that block (under
`duplicateMacs: warn` the policy lists the requested MAC's block), so every block's watches exist.

policy-server 1.35 now and then holds a new watch's initial LIST until one of its older watches
ends (kube-rs watches ask for a 290 s timeout), so one request may take up to about five
minutes: the wait allows for it, and the slowest request is reported (docs/operations.md, Watches and connections).

    warm_blocks.py URL CA_FILE POLICY_NAME
"""

import json
import ssl
import sys
import time
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


STALL_WAIT = 330  # past the 290 s timeout of the watches policy-server already holds


def main():
    url, ca, policy = sys.argv[1:4]
    context = ssl.create_default_context(cafile=ca)
    start = time.monotonic()
    slowest = (0.0, 0)
    for block in range(256):
        body = json.dumps(review(block)).encode()
        sent = time.monotonic()
        while True:
            request = urllib.request.Request(f"{url}/validate/{policy}", body, {"Content-Type": "application/json"})
            with urllib.request.urlopen(request, context=context, timeout=STALL_WAIT) as answer:
                response = json.load(answer)["response"]
            interrupted = "exceeded the allowed execution time" in (response.get("status") or {}).get("message", "")
            # The evaluation gave up waiting for the new watch (timeoutEvalSeconds); the watch
            # itself is still on its way: ask again until it is, or the stall outlasts the wait.
            if not interrupted:
                break
            if time.monotonic() - sent > STALL_WAIT:
                print(f"block {block:02x}: policy-server held the new watch's list for over {STALL_WAIT} s")
                sys.exit(4)
            time.sleep(1)
        slowest = max(slowest, (time.monotonic() - sent, block))
        if not response.get("allowed"):
            sys.exit(f"warm_blocks.py: block {block:02x} refused: {response.get('status')}")
    print(f"{time.monotonic() - start:.1f} s (slowest: block {slowest[1]:02x}, {slowest[0]:.1f} s)")


if __name__ == "__main__":
    main()
