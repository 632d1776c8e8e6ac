#!/usr/bin/env bash
# Kubemacpool v0.51.1 (built from its release tarball by build.sh) run out of cluster against the
# test cluster of ../cluster.sh, instead of the policy. See NOTES.md here for what differs from
# its release deployment and why.
#
#   kubemacpool.sh up STATE_DIR     removes the policy's webhook configurations (one MAC allocator
#                                   at a time), installs Kubemacpool's release manifest
#                                   (config/release/kubemacpool.yaml of its tree: Namespace,
#                                   ServiceAccount, ClusterRole, ClusterRoleBinding, range
#                                   ConfigMap, MutatingWebhookConfiguration) with the changes of
#                                   NOTES.md, starts the manager as kubemacpool-sa, and waits until
#                                   the API server calls it; prints the start-up times
#   kubemacpool.sh down STATE_DIR   stops the manager and deletes its webhook configuration
#                                   (cluster.sh webhooks STATE_DIR POLICY... puts the policy back)
#   kubemacpool.sh start|stop STATE_DIR
#                                   the manager process alone (its objects and the Service's
#                                   proxy stay)
#
# The manager's webhook port is fixed at 8000 in its code (pkg/webhook/webhook.go,
# WebhookServerPort; no flag), so only one Kubemacpool can run on a machine; `up` fails when
# 127.0.0.1:8000 is taken. Its metrics (--metrics-addr) go to a free loopback port. The webhooks
# call it through a stand-in for its Service, which routes only while it is ready (`service`).
set -Eeuo pipefail
# shellcheck source=../lib.bash
. "$(dirname "${BASH_SOURCE[0]}")/../lib.bash"
KMP_NS=kubemacpool-system
KMP_WEBHOOK_PORT=8000

log() { echo "kubemacpool: $*" >&2; }

load_env() {
  load_state_env
  KMP_CACHE=$("$CLUSTER_DIR/kubemacpool/build.sh")
  KMP_DIR="$STATE/kubemacpool"
  [ -n "${KMP_SERVICE_PORT:-}" ] || { KMP_SERVICE_PORT=$(free_port); echo "KMP_SERVICE_PORT=$KMP_SERVICE_PORT" >>"$STATE/env"; }
}

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The serving certificate, from the test CA, for 127.0.0.1, where controller-runtime's webhook
# server looks for it: $TMPDIR/k8s-webhook-server/serving-certs/tls.{crt,key} (the Deployment
# mounts the Secret kubemacpool-service there, which kubemacpool-cert-manager would write).
certs() {
  local d="$KMP_DIR/tmp/k8s-webhook-server/serving-certs"
  mkdir -p "$d"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/tls.key" -out "$KMP_DIR/tls.csr" \
    -subj "/CN=kubemacpool-service.$KMP_NS.svc" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$KMP_DIR/tls.ext"
  openssl x509 -req -in "$KMP_DIR/tls.csr" -CA "$STATE/pki/ca.crt" -CAkey "$STATE/pki/ca.key" \
    -CAcreateserial -days 2 -out "$d/tls.crt" -extfile "$KMP_DIR/tls.ext" 2>/dev/null
}

# The release manifest with the out-of-cluster changes (NOTES.md): its objects as released but
# the Deployments, the Service and the NetworkPolicies (no pods here); the range ConfigMap set to
# the policy's rangeStart/rangeEnd; each webhook's clientConfig a URL on the Service's proxy,
# 127.0.0.1:KMP_SERVICE_PORT (`service`), with the test CA. Writes KMP_DIR/manifest.json and KMP_DIR/range (RANGE_START RANGE_END).
# KMP_RANGE="START END" sets another range (a policy deployed with that range before, uninstall.bats).
manifest() {
  python3 - "$KMP_CACHE/src/config/release/kubemacpool.yaml" "$REPO/manifests/kubemacpool-vms-opt-out.yaml" \
    "$STATE/pki/ca.crt" "$KMP_SERVICE_PORT" "$KMP_DIR" "${KMP_RANGE:-}" <<'EOF'
import base64, json, sys, yaml
release, policy, ca, port, out, override = sys.argv[1:]
settings = next(d for d in yaml.safe_load_all(open(policy)) if d and d.get("kind") == "ClusterAdmissionPolicy")["spec"]["settings"]
start, end = override.split() if override else (settings["rangeStart"], settings["rangeEnd"])
bundle = base64.b64encode(open(ca, "rb").read()).decode()
keep = []
for d in yaml.safe_load_all(open(release)):
    if not d or d["kind"] in ("Deployment", "Service", "NetworkPolicy"):
        continue
    if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "kubemacpool-mac-range-config":
        d["data"] = {"RANGE_START": start, "RANGE_END": end}
    if d["kind"] == "MutatingWebhookConfiguration":
        for w in d["webhooks"]:
            path = w["clientConfig"]["service"]["path"]
            w["clientConfig"] = {"url": f"https://127.0.0.1:{port}{path}", "caBundle": bundle}
    keep.append(d)
json.dump({"apiVersion": "v1", "kind": "List", "items": keep}, open(f"{out}/manifest.json", "w"), indent=1)
open(f"{out}/range", "w").write(f"{start} {end}\n")
EOF
}

ready() { curl -sf --cacert "$STATE/pki/ca.crt" "https://127.0.0.1:$KMP_WEBHOOK_PORT/readyz" >/dev/null; }

# start: the manager as the mac-controller-manager Deployment runs it (its args and env), out of
# cluster; waits for /readyz (the pool rebuilt from every Pod and VM). Writes KMP_DIR/start-ns (the
# process start, ns since the epoch) and KMP_DIR/start-ready-ms.
start() {
  [ ! -f "$STATE/pids/kubemacpool.pid" ] || ! kill -0 "$(cat "$STATE/pids/kubemacpool.pid")" 2>/dev/null || return 0
  ! port_taken "$KMP_WEBHOOK_PORT" || die "127.0.0.1:$KMP_WEBHOOK_PORT is taken: Kubemacpool's webhook port is fixed in its code"
  local range_start range_end metrics t0
  read -r range_start range_end <"$KMP_DIR/range"
  [ -n "${KMP_METRICS_PORT:-}" ] || { KMP_METRICS_PORT=$(free_port); echo "KMP_METRICS_PORT=$KMP_METRICS_PORT" >>"$STATE/env"; }
  metrics="127.0.0.1:$KMP_METRICS_PORT"
  t0=$(date +%s%N)
  echo "$t0" >"$KMP_DIR/start-ns"
  env -i PATH=/usr/bin:/bin HOME="$KMP_DIR" TMPDIR="$KMP_DIR/tmp" KUBECONFIG="$KMP_DIR/kubeconfig" \
    POD_NAMESPACE="$KMP_NS" POD_NAME=kubemacpool-mac-controller-manager-out-of-cluster \
    RANGE_START="$range_start" RANGE_END="$range_end" \
    KUBEVIRT_CLIENT_GO_SCHEME_REGISTRATION_VERSION=v1 TLS_MIN_VERSION=VersionTLS13 \
    "$KMP_CACHE/bin/kubemacpool-manager" --v=production --wait-time=300 --metrics-addr "$metrics" \
    </dev/null >>"$STATE/logs/kubemacpool.log" 2>&1 3>&- &
  echo $! >"$STATE/pids/kubemacpool.pid"
  local deadline=$((SECONDS + 120))
  until ready; do
    kill -0 "$(cat "$STATE/pids/kubemacpool.pid")" 2>/dev/null || die "the manager exited: $(tail -n 3 "$STATE/logs/kubemacpool.log")"
    [ $SECONDS -lt $deadline ] || die "the manager is not ready after 120 s ($STATE/logs/kubemacpool.log)"
    sleep 0.1
  done
  echo $((($(date +%s%N) - t0) / 1000000)) >"$KMP_DIR/start-ready-ms"
  # and the Service's proxy routes to it again (its next check, within 200 ms)
  [ -f "$STATE/pids/kubemacpool-service.pid" ] || return 0
  deadline=$((SECONDS + 10))
  until curl -sf --cacert "$STATE/pki/ca.crt" "https://127.0.0.1:$KMP_SERVICE_PORT/readyz" >/dev/null; do
    [ $SECONDS -lt $deadline ] || die "the Service's proxy does not route to the ready manager after 10 s ($STATE/logs/kubemacpool-service.log)"
    sleep 0.05
  done
}

# service: the release's Service kubemacpool-service on loopback. A Service routes only to a ready
# pod, and the Deployment's readinessProbe is /readyz (true once the pool is rebuilt), so the
# webhooks call a TCP proxy (haproxy) on 127.0.0.1:KMP_SERVICE_PORT that forwards to the manager's
# :8000 only while /readyz answers 200; otherwise it closes the connection, and the API server
# refuses the admission (failurePolicy Fail) as it does when a Service has no ready endpoint. It
# checks every 200 ms (the release probes every 10 s after 10 s: a cluster waits longer), and
# does not retry a refused connect (`retries 0`), which would hold a request until the manager is
# back and hide the outage.
service() {
  cat >"$KMP_DIR/service.cfg" <<CFG
global
  maxconn 1024
defaults
  mode tcp
  retries 0
  timeout connect 2s
  timeout client 1h
  timeout server 1h
frontend front
  bind 127.0.0.1:$KMP_SERVICE_PORT
  default_backend back
backend back
  option httpchk
  http-check send meth GET uri /readyz
  http-check expect status 200
  server manager 127.0.0.1:$KMP_WEBHOOK_PORT check check-ssl verify none inter 200ms fall 1 rise 1
CFG
  stop kubemacpool-service
  haproxy -db -f "$KMP_DIR/service.cfg" </dev/null >>"$STATE/logs/kubemacpool-service.log" 2>&1 3>&- &
  echo $! >"$STATE/pids/kubemacpool-service.pid"
  local deadline=$((SECONDS + 10))
  until (exec 3<>"/dev/tcp/127.0.0.1/$KMP_SERVICE_PORT") 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || die "the Service's proxy does not listen on 127.0.0.1:$KMP_SERVICE_PORT ($STATE/logs/kubemacpool-service.log)"
    sleep 0.1
  done
}

# called: the API server calls Kubemacpool's VM webhook (a server-side dry-run of a VM without a
# MAC, in the probe namespace, comes back with one; Kubemacpool does not keep dry-run allocations).
called() {
  k create --dry-run=server -o json -f - 2>/dev/null <<'EOF' | python3 -c 'import json, sys; m = json.load(sys.stdin)["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][0].get("macAddress"); sys.exit(0 if m else 1)'
{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "kmp-probe", "namespace": "kmp-probe"},
 "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {"devices": {"interfaces": [
   {"name": "default", "masquerade": {}}]}}, "networks": [{"name": "default", "pod": {}}]}}}}
EOF
}

up() {
  mkdir -p "$KMP_DIR"
  "$CLUSTER_DIR/cluster.sh" webhooks "$STATE"
  certs
  manifest
  k apply -f "$KMP_DIR/manifest.json" >/dev/null
  sa_kubeconfig "$KMP_DIR/kubeconfig" "$KMP_NS" kubemacpool-sa
  service
  start
  local deadline=$((SECONDS + 30))
  until called; do
    [ $SECONDS -lt $deadline ] || die "the API server does not call Kubemacpool's webhook after 30 s"
    sleep 0.2
  done
  log "ready in $(cat "$KMP_DIR/start-ready-ms") ms (process start to /readyz), webhook https://127.0.0.1:$KMP_WEBHOOK_PORT behind the Service's proxy 127.0.0.1:$KMP_SERVICE_PORT, range $(cat "$KMP_DIR/range"), log $STATE/logs/kubemacpool.log"
}

down() {
  stop kubemacpool
  stop kubemacpool-service
  k delete mutatingwebhookconfiguration kubemacpool-mutator --ignore-not-found >/dev/null
}

cmd=${1:-}
case "$cmd" in
  up | down | start | stop)
    STATE=$(cd "${2:?STATE_DIR}" && pwd)
    load_env
    if [ "$cmd" = stop ]; then stop kubemacpool; else "$cmd"; fi
    ;;
  *) sed -n '2,/^set -E/p' "$0" | sed '$d'; exit 2 ;;
esac
