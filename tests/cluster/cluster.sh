#!/usr/bin/env bash
# A real Kubernetes control plane on loopback, with the policy behind real webhooks.
#
#   cluster.sh up STATE_DIR        etcd, kube-apiserver (RBAC, TLS, service-account keys), KubeVirt's
#                                  CRDs, manifests/rbac.yaml, policy-server as the ServiceAccount that
#                                  rbac.yaml binds, and the webhook configurations derived from
#                                  manifests/*.yaml (kmp.cluster.derive); prints `export KUBECONFIG=...`
#   cluster.sh down STATE_DIR      stops every process `up` started (pid files in STATE_DIR/pids)
#   cluster.sh start|stop|restart COMPONENT STATE_DIR
#                                  COMPONENT: etcd, apiserver, registry, apiproxy (policy-server's way to the
#                                  API server), policy-server-1, policy-server-2, lb
#   cluster.sh webhooks STATE_DIR POLICY...
#                                  installs exactly these policies' webhook configurations
#                                  (names of manifests/*.yaml policies, or their -reject variants)
#   cluster.sh replicas STATE_DIR 1|2
#                                  1: webhooks call policy-server-1; 2: a second policy-server and
#                                  haproxy (TCP) in front of both, and the webhooks call haproxy
#   cluster.sh module STATE_DIR URL
#                                  policy-server-1 restarted with the policies' module URL (an upgrade)
#
# Environment: KMP_POLICY_MODULE (default: annotated-policy.wasm pushed with kwctl to an OCI
# registry on loopback, docker-registry, and loaded by policy-server from there; file://<repo>/
# annotated-policy.wasm without docker-registry),
# KMP_WEBHOOKS (the policies installed by `up`; default: Kubemacpool's release defaults, pods
# opt-in and VMs opt-out), POLICY_SERVER (default: policy-server on PATH), KMP_DERIVE_ARGS (more
# kmp.cluster.derive options, e.g. `--variant podstracked:inventory=pods-tracked`), KMP_HAPROXY_MAXCONN,
# KMP_APISERVER_V (kube-apiserver --v; 3 logs every request with its client port), KMP_PS_LOG_LEVEL
# (policy-server --log-level; debug shows each watch start), KMP_APISERVER_AUDIT=1 (kube-apiserver's
# audit log of VM and Pod writes at level Metadata, in STATE_DIR/logs/audit.log).
set -Eeuo pipefail
# shellcheck source=lib.bash
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
export RUST_BACKTRACE=0

log() { echo "cluster: $*" >&2; }

# wait_until SECONDS WHAT COMMAND...: retries COMMAND; gives up after SECONDS, or as soon as the
# process WHAT (a name under STATE/pids) has exited.
wait_until() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { log "gave up waiting for $what"; return 1; }
    if [ -f "$STATE/pids/$what.pid" ] && ! kill -0 "$(cat "$STATE/pids/$what.pid")" 2>/dev/null; then
      log "$what exited: $(tail -n 3 "$STATE/logs/$what.log")"
      return 1
    fi
    sleep 0.1
  done
}

# spawn NAME COMMAND...: runs COMMAND in the background, detached from the caller's descriptors
# (bats waits for fd 3), logging to STATE/logs/NAME.log, its pid in STATE/pids/NAME.pid.
spawn() {
  local name=$1
  shift
  "$@" </dev/null >>"$STATE/logs/$name.log" 2>&1 3>&- &
  echo $! >"$STATE/pids/$name.pid"
}

certs() {
  local d="$STATE/pki"
  mkdir -p "$d"
  (
    cd "$d"
    ossl() { openssl "$@" 2>/dev/null; }
    ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
      -days 2 -subj "/CN=kubemacpool-test-ca"
    # leaf NAME SUBJECT EXTENSIONS
    leaf() {
      ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2"
      printf '%s\n' "$3" >"$1.ext"
      ossl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out "$1.crt" -extfile "$1.ext"
    }
    leaf apiserver "/CN=kube-apiserver" \
      "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc"$'\n'"extendedKeyUsage=serverAuth"
    leaf policy-server "/CN=policy-server" "subjectAltName=IP:127.0.0.1"$'\n'"extendedKeyUsage=serverAuth"
    leaf registry "/CN=registry" "subjectAltName=IP:127.0.0.1"$'\n'"extendedKeyUsage=serverAuth"
    leaf admin "/O=system:masters/CN=kubernetes-admin" "extendedKeyUsage=clientAuth"
    ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out sa.key
    ossl pkey -in sa.key -pubout -out sa.pub
  )
}

start_etcd() {
  spawn etcd "$BIN/etcd" --name test --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "test=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync --log-level warn
  wait_until 30 "etcd" curl -sf "http://127.0.0.1:$ETCD_PORT/health"
}

start_apiserver() {
  local p="$STATE/pki" audit=()
  # KMP_APISERVER_AUDIT=1: the API server's audit log (STATE/logs/audit.log) at level Metadata for
  # VM and Pod writes, where webhooks' audit annotations land (workflows.bats). Off by default:
  # it would cost the benchmarks' loads.
  if [ "${KMP_APISERVER_AUDIT:-}" = 1 ]; then
    cat >"$STATE/audit-policy.yaml" <<EOF
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  verbs: [create, update, patch]
  resources:
  - group: kubevirt.io
    resources: [virtualmachines]
  - group: ""
    resources: [pods]
- level: None
EOF
    audit=(--audit-policy-file "$STATE/audit-policy.yaml" --audit-log-path "$STATE/logs/audit.log")
  fi
  # ServiceAccount admission stays on (as in every cluster): each test namespace gets its
  # `default` ServiceAccount (the tests' mkns), since no controller-manager creates it.
  spawn apiserver "$BIN/kube-apiserver" "${audit[@]}" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
    --tls-cert-file "$p/apiserver.crt" --tls-private-key-file "$p/apiserver.key" \
    --client-ca-file "$p/ca.crt" --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$p/sa.pub" --service-account-signing-key-file "$p/sa.key" \
    --service-cluster-ip-range 10.96.0.0/24 --endpoint-reconciler-type none \
    --profiling=false --v "${KMP_APISERVER_V:-1}"
  wait_until 60 apiserver k get --raw /readyz
}

start_policy_server() {
  local i=$1 port ready
  port=$(eval echo "\$PS${i}_PORT")
  ready=$(eval echo "\$PS${i}_READY_PORT")
  local trust=()
  [ -z "${SIGSTORE_TRUST_CONFIG:-}" ] || trust=(--sigstore-trust-config "$SIGSTORE_TRUST_CONFIG")
  mkdir -p "$STATE/ps$i"
  # As the kubewarden-defaults PolicyServer runs: the policies of policies.yml, TLS, and reviews
  # from the controller's own namespace always accepted.
  (cd "$STATE/ps$i" && KUBECONFIG="$STATE/policy-server.kubeconfig" spawn "policy-server-$i" \
    "$POLICY_SERVER" --policies "$STATE/derived/policies.yml" \
    --policies-download-dir "$STATE/ps$i" --sigstore-cache-dir "$STATE/ps$i/sigstore" \
    --cert-file "$STATE/pki/policy-server.crt" --key-file "$STATE/pki/policy-server.key" \
    --addr 127.0.0.1 --port "$port" --readiness-probe-port "$ready" --workers 2 \
    --always-accept-admission-reviews-on-namespace kubewarden \
    ${KMP_SOURCES:+--sources-path "$KMP_SOURCES"} --log-level "${KMP_PS_LOG_LEVEL:-info}" --log-no-color "${trust[@]}")
  wait_until 120 "policy-server-$i" curl -sf "http://127.0.0.1:$ready/readiness"
}

# haproxy NAME PORT BACKEND-PORT...: a TCP proxy, round robin over the backends.
# maxconn: apiproxy carries every connection of both policy-server replicas, and policy-server
# opens one TCP connection per watch (HTTP/1.1): up to 82 per replica under `inventory: indexed`
# (514 with index v1, when the limit below was set),
# plus its LISTs and GETs. The earlier `maxconn 1024` let replica 1's 514 watches and replica 2's
# first ~510 through and left replica 2's last watches in the accept queue until watches ended at
# their 290 s timeout: the "new-watch stall" (docs/operations.md, Watches and connections). 8192
# leaves room for both with their reconnects. haproxy needs two open files per connection and
# refuses to start when it cannot raise its limit that far, so a lower hard limit lowers maxconn,
# down to what two replicas' watches need.
HAPROXY_MAXCONN=${KMP_HAPROXY_MAXCONN:-8192}  # KMP_HAPROXY_MAXCONN=1024 brings the stall back
haproxy_tcp() {
  local name=$1 port=$2 i=0 b maxconn hard
  shift 2
  command -v haproxy >/dev/null || die "no haproxy (make cluster-setup installs it)"
  maxconn=$HAPROXY_MAXCONN
  hard=$(ulimit -Hn)
  if [ "$hard" != unlimited ] && [ $(((hard - 100) / 2)) -lt "$maxconn" ]; then
    maxconn=$(((hard - 100) / 2))
    [ "$maxconn" -ge 1200 ] ||
      die "haproxy $name: the open-files hard limit ($hard) leaves room for $maxconn connections; two policy-server replicas' watches need 1200 (raise it: ulimit -Hn)"
  fi
  {
    printf 'global\n  maxconn %s\n' "$maxconn"
    printf 'defaults\n  mode tcp\n  maxconn %s\n  timeout connect 2s\n' "$maxconn"
    printf '  timeout client 1h\n  timeout server 1h\n'
    printf 'frontend front\n  bind 127.0.0.1:%s\n  default_backend back\nbackend back\n  balance roundrobin\n' "$port"
    for b in "$@"; do i=$((i + 1)); printf '  server s%s 127.0.0.1:%s check inter 500ms\n' "$i" "$b"; done
  } >"$STATE/$name.cfg"
  spawn "$name" haproxy -db -f "$STATE/$name.cfg"
  wait_until 10 "$name" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
}

# An OCI registry on loopback (the CNCF distribution server, Debian's docker-registry), over TLS
# with our CA; STATE/sources.yml is the sources file that lets kwctl and policy-server trust it.
start_registry() {
  mkdir -p "$STATE/registry"
  cat >"$STATE/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE/registry
http:
  addr: 127.0.0.1:$REGISTRY_PORT
  tls:
    certificate: $STATE/pki/registry.crt
    key: $STATE/pki/registry.key
EOF
  python3 -c 'import json, sys; print(json.dumps({"source_authorities": {sys.argv[1]: [{"type": "Data", "data": open(sys.argv[2]).read()}]}}))' \
    "127.0.0.1:$REGISTRY_PORT" "$STATE/pki/ca.crt" >"$STATE/sources.yml"
  spawn registry "$REGISTRY_BIN" serve "$STATE/registry.yml"
  wait_until 10 registry curl -sf --cacert "$STATE/pki/ca.crt" "https://127.0.0.1:$REGISTRY_PORT/v2/"
}

start_apiproxy() { haproxy_tcp apiproxy "$APIPROXY_PORT" "$API_PORT"; }

start_lb() { haproxy_tcp lb "$LB_PORT" "$PS1_PORT" "$PS2_PORT"; }

established() { # established CRD...: every one has condition Established=True
  local crd
  for crd in "$@"; do
    [ "$(k get crd "$crd" \
      -o jsonpath='{.status.conditions[?(@.type=="Established")].status}')" = True ] || return 1
  done
}

running() { [ -f "$STATE/pids/$1.pid" ] && kill -0 "$(cat "$STATE/pids/$1.pid")" 2>/dev/null; }

# start COMPONENT: starts it unless it is running.
start() {
  ! running "$1" || return 0
  case "$1" in
    etcd) start_etcd ;;
    apiserver) start_apiserver ;;
    policy-server-1) start_policy_server 1 ;;
    policy-server-2) start_policy_server 2 ;;
    lb) start_lb ;;
    apiproxy) start_apiproxy ;;
    registry) start_registry ;;
    *) die "unknown component $1" ;;
  esac
}

derive() { # derive BASE_URL
  kmp_python cluster.derive --manifests "$REPO/manifests" --module "$KMP_POLICY_MODULE" \
    --url "$1" --ca-bundle "$STATE/pki/ca.crt" --out "$STATE/derived" \
    --variant reject:duplicateMacs=reject ${KMP_DERIVE_ARGS:-} >"$STATE/derived/names"
}

# probe KIND: a server-side dry-run create, in the probe namespace (which every selector of the
# shipped policies matches), of a VM or Pod with an invalid MAC; prints which webhook refused it
# ("none" when it was admitted): the first, by name, of the webhooks the API server calls for KIND.
probe() {
  local out
  if [ "$1" = virtualmachines ]; then
    out=$(k create --dry-run=server -f - 2>&1 <<EOF || true
{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "probe", "namespace": "kmp-probe"},
 "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {"devices": {"interfaces": [
   {"name": "default", "masquerade": {}, "macAddress": "02:00:00:00:00"}]}},
   "networks": [{"name": "default", "pod": {}}]}}}}
EOF
)
  else
    out=$(k create --dry-run=server -f - 2>&1 <<EOF || true
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe", "namespace": "kmp-probe",
 "annotations": {"k8s.v1.cni.cncf.io/networks": "[{\"name\":\"br1\",\"mac\":\"bad\"}]"}},
 "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}}
EOF
)
  fi
  if [[ "$out" =~ admission\ webhook\ \"clusterwide-([^\"]*)\.kubewarden\.admission\" ]]; then
    echo "${BASH_REMATCH[1]}"
  else
    echo none
  fi
}

# converged KIND POLICY...: the API server now calls, for KIND, the first of these (or none).
converged() {
  local kind=$1 first=none name
  shift
  for name in "$@"; do
    grep -q "\"$kind\"" "$STATE/derived/webhooks/$name.json" || continue
    [ "$first" != none ] && [[ "$first" < "$name" ]] || first=$name
  done
  [ "$(probe "$kind")" = "$first" ]
}

# webhooks POLICY...: exactly these policies' webhook configurations, once the API server calls
# them (its webhook informer follows the change a moment later).
webhooks() {
  local name keep=()
  for name in "$@"; do
    [ -f "$STATE/derived/webhooks/$name.json" ] || die "no policy $name (see $STATE/derived/names)"
    keep+=("clusterwide-$name")
    k apply -f "$STATE/derived/webhooks/$name.json" >/dev/null
  done
  for name in $(k get mutatingwebhookconfigurations,validatingwebhookconfigurations \
    -l app.kubernetes.io/part-of=kubewarden -o name); do
    [[ " ${keep[*]} " == *" ${name#*/} "* ]] || k delete "$name" >/dev/null
  done
  echo "$*" >"$STATE/webhooks"
  wait_until 30 "the webhook configurations ($*)" converged virtualmachines "$@"
  wait_until 30 "the webhook configurations ($*)" converged pods "$@"
}

up() {
  [ ! -e "$STATE/pids" ] || [ -z "$(ls -A "$STATE/pids")" ] || die "$STATE has running processes: cluster.sh down $STATE first"
  local t0=$SECONDS
  POLICY_SERVER="${POLICY_SERVER:-$(command -v policy-server || true)}"
  [ -x "$POLICY_SERVER" ] || die "no policy-server (POLICY_SERVER or PATH)"
  local wasm="$REPO/annotated-policy.wasm"
  [ -n "${KMP_POLICY_MODULE:-}" ] || [ -f "$wasm" ] || die "no $wasm: make annotated-policy.wasm first"
  BIN="$("$CLUSTER_DIR/build.sh")/bin"
  # STATE is wiped: only an empty folder or an earlier cluster's state
  [ -z "$(ls -A "$STATE")" ] || [ -f "$STATE/env" ] || die "$STATE is not empty and holds no cluster state"
  rm -rf "$STATE"
  mkdir -p "$STATE/pids" "$STATE/logs" "$STATE/derived"
  cat >"$STATE/env" <<EOF
BIN=$BIN
POLICY_SERVER=$POLICY_SERVER
ETCD_PORT=$(free_port)
ETCD_PEER_PORT=$(free_port)
API_PORT=$(free_port)
PS1_PORT=$(free_port)
PS1_READY_PORT=$(free_port)
PS2_PORT=$(free_port)
PS2_READY_PORT=$(free_port)
LB_PORT=$(free_port)
APIPROXY_PORT=$(free_port)
REGISTRY_PORT=$(free_port)
EOF
  load_state_env
  trap 'log "start-up failed; logs in $STATE/logs"; down; exit 1' ERR
  certs
  # The module: pushed with kwctl to a loopback registry under the path the manifests name
  # (registry://ghcr.io/<path> becomes registry://127.0.0.1:<port>/<path>), and loaded from there
  # by policy-server; file:// when there is no docker-registry or kwctl.
  REGISTRY_BIN=$(command -v docker-registry ||
    ls "$KMP_CACHE_ROOT/docker-registry/usr/bin/docker-registry" 2>/dev/null || true)
  echo "REGISTRY_BIN=$REGISTRY_BIN" >>"$STATE/env"
  if [ -z "${KMP_POLICY_MODULE:-}" ] && [ -n "$REGISTRY_BIN" ] && command -v kwctl >/dev/null; then
    start_registry
    local path
    path=$(sed -n 's|^ *module: *registry://[^/]*/||p' "$REPO"/manifests/kubemacpool-*.yaml | head -n 1)
    KMP_POLICY_MODULE="registry://127.0.0.1:$REGISTRY_PORT/$path"
    KMP_SOURCES="$STATE/sources.yml"
    kwctl push --sources-path "$KMP_SOURCES" "$wasm" "$KMP_POLICY_MODULE" >"$STATE/logs/push.log" 2>&1
  fi
  KMP_POLICY_MODULE="${KMP_POLICY_MODULE:-file://$wasm}"
  printf 'KMP_POLICY_MODULE=%s\nKMP_SOURCES=%s\n' "$KMP_POLICY_MODULE" "${KMP_SOURCES:-}" >>"$STATE/env"
  kubeconfig "$STATE/admin.kubeconfig" "$API_PORT" user "    client-certificate: $STATE/pki/admin.crt
    client-key: $STATE/pki/admin.key"
  start_etcd
  start_apiserver
  kmp_python cluster.kubevirt_crds "$BIN/../crds" >"$STATE/crds.json"
  k create -f "$STATE/crds.json" >/dev/null
  # (not `kubectl wait`: it gives up on a CRD whose status has no conditions yet)
  wait_until 30 "the CRDs" established virtualmachines.kubevirt.io virtualmachineinstances.kubevirt.io
  # The ServiceAccount that manifests/rbac.yaml binds, created by hand (no controller-manager),
  # and rbac.yaml applied as shipped.
  k create namespace kubewarden >/dev/null
  k create serviceaccount policy-server -n kubewarden >/dev/null
  k apply -f "$REPO/manifests/rbac.yaml" >/dev/null
  local token
  token=$(k create token policy-server -n kubewarden --duration 24h)
  # policy-server reaches the API server through a TCP proxy (apiproxy), which the tests stop to
  # cut its watches while the API server keeps serving everyone else.
  kubeconfig "$STATE/policy-server.kubeconfig" "$APIPROXY_PORT" user "    token: $token"
  # the namespace `webhooks` probes in: every shipped selector matches it
  k apply -f - >/dev/null <<EOF
{"apiVersion": "v1", "kind": "List", "items": [
 {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kmp-probe", "labels": {
   "mutatepods.kubemacpool.io": "allocate", "mutatevirtualmachines.kubemacpool.io": "allocate"}}},
 {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "kmp-probe"}}]}
EOF
  start_apiproxy
  derive "https://127.0.0.1:$PS1_PORT"
  start_policy_server 1
  webhooks ${KMP_WEBHOOKS:-kubemacpool-pods-opt-in kubemacpool-vms-opt-out}
  trap - ERR
  echo $((SECONDS - t0)) >"$STATE/start-seconds"
  log "up in $((SECONDS - t0)) s: kube-apiserver https://127.0.0.1:$API_PORT, policy-server https://127.0.0.1:$PS1_PORT, module $KMP_POLICY_MODULE"
  log "kubectl: $BIN/kubectl; stop with: cluster.sh down $STATE"
  echo "export KUBECONFIG=$STATE/admin.kubeconfig"
}

replicas() {
  case "$1" in
    1) derive "https://127.0.0.1:$PS1_PORT"; webhooks $(cat "$STATE/webhooks"); stop lb; stop policy-server-2 ;;
    2) [ -f "$STATE/pids/policy-server-2.pid" ] || start_policy_server 2
       [ -f "$STATE/pids/lb.pid" ] || start_lb
       derive "https://127.0.0.1:$LB_PORT"; webhooks $(cat "$STATE/webhooks") ;;
    *) die "replicas: 1 or 2" ;;
  esac
}

# module URL: policy-server-1 runs the policies with the module URL (an upgrade: a new module
# deployed), restarted as a PolicyServer rollout restarts it; the webhooks stay as they are.
module() {
  sed -i "s|^KMP_POLICY_MODULE=.*|KMP_POLICY_MODULE=$1|" "$STATE/env"
  KMP_POLICY_MODULE=$1
  derive "https://127.0.0.1:$PS1_PORT"
  stop policy-server-1
  start_policy_server 1
}

down() {
  local name
  for name in lb policy-server-2 policy-server-1 apiproxy apiserver etcd registry; do stop "$name"; done
  for name in "$STATE"/pids/*.pid; do [ -f "$name" ] && stop "$(basename "$name" .pid)"; done
  return 0
}

cmd=${1:-}
case "$cmd" in
  up) STATE=$(mkdir -p "$2" && cd "$2" && pwd); up ;;
  down) STATE=$(cd "$2" 2>/dev/null && pwd) || exit 0; [ -f "$STATE/env" ] && load_state_env; down ;;
  start|stop|restart)
    STATE=$(cd "$3" && pwd); load_state_env
    case "$cmd" in
      start) start "$2" ;;
      stop) stop "$2" ;;
      restart) stop "$2"; start "$2" ;;
    esac ;;
  webhooks) STATE=$(cd "$2" && pwd); load_state_env; shift 2; webhooks "$@" ;;
  module) STATE=$(cd "$2" && pwd); load_state_env; module "$3" ;;
  replicas) STATE=$(cd "$2" && pwd); load_state_env; replicas "$3" ;;
  *) sed -n '2,/^set -e/p' "$0" | sed '$d'; exit 2 ;;
esac
