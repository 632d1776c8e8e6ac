#!/usr/bin/env bash
# Kubewarden 1.35's audit scanner against the test cluster of cluster.sh (tests/cluster/).
#
#   audit.sh setup STATE_DIR [KIND]
#                                 installs what the scanner reads and writes, for the report kind
#                                 KIND: `openreports` (what a Kubewarden 1.35 Helm install uses: the
#                                 controller chart's auditScanner.reportCRDsKind, the CRDs chart's
#                                 default) or `policyreport` (the scanner binary's default; the
#                                 default here too): the CRDs of policies.kubewarden.io and of
#                                 openreports.io (from the CRDs chart's openreports subchart) or
#                                 wgpolicyk8s.io (from the scanner's source,
#                                 tests/cluster/audit/build.sh), the PolicyServer `default`
#                                 and its Service, a ClusterAdmissionPolicy (status active) for
#                                 each policy in STATE_DIR/webhooks, and the scanner's
#                                 ServiceAccount, RBAC and kubeconfig
#   audit.sh run STATE_DIR [FLAG...]
#                                 one scan of the whole cluster, as the controller's CronJob runs
#                                 it, pointed at policy-server-1 from outside the cluster
#                                 (--policy-server-url, --extra-ca); log in STATE_DIR/logs/audit-scanner.log
#   audit.sh reports STATE_DIR    the stored reports, one line per result:
#                                 KIND NAMESPACE/NAME POLICY RESULT MESSAGE
#   audit.sh reports-json STATE_DIR [cluster]
#                                 the stored namespaced (or cluster-scoped) reports as `kubectl get
#                                 -o json` prints them: PolicyReports or OpenReports `Report`s (the
#                                 fields the tests read, scope, results and summary, are the same)
#
# What is faked, because there is no kubewarden-controller, kubelet or kube-proxy here:
# - the ClusterAdmissionPolicies are the shipped manifests applied as they are; nothing reconciles
#   them, so their status (policyStatus active, mode protect, which the scanner checks) is written
#   by hand through the status subresource;
# - the PolicyServer `default` exists only for the scanner to find (no Deployment); its Service
#   `policy-server-default` (label app.kubernetes.io/instance=policy-server-default, port 8443, as
#   the controller names it) has no endpoints: the scanner requires it, then uses
#   --policy-server-url instead of https://policy-server-default.kubewarden.svc:8443;
# - the scanner runs as the ServiceAccount kubewarden/audit-scanner with the ClusterRole below,
#   written from the calls its code makes (not the Helm chart's), and a TokenRequest token.
set -Eeuo pipefail
# shellcheck source=lib.bash
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

load_env() {
  load_state_env
  AUDIT_CACHE=$("$CLUSTER_DIR/audit/build.sh")
}

# report_kind: the --report-kind of this cluster's scans (setup's KIND); report_resources: the
# namespaced and the cluster-scoped report resource of that kind.
report_kind() { cat "$STATE/audit-report-kind"; }
report_resources() {
  case "$(report_kind)" in
    openreports) echo reports.openreports.io clusterreports.openreports.io ;;
    policyreport) echo policyreports.wgpolicyk8s.io clusterpolicyreports.wgpolicyk8s.io ;;
  esac
}

# The CRDs the scanner needs: it lists every policy kind (ClusterAdmissionPolicy, AdmissionPolicy
# and their Groups), gets PolicyServers, and writes the reports of its --report-kind. The policy
# CRDs and the PolicyReport CRDs come from the scanner's source tree; the OpenReports CRDs from the
# subchart kubewarden-crds 1.35 installs by default (without the PolicyReport CRDs, as that chart).
install_crds() {
  local src="$AUDIT_CACHE/src" f
  local crds=()
  for f in admissionpolicies admissionpolicygroups clusteradmissionpolicies clusteradmissionpolicygroups policyservers; do
    crds+=("$src/config/crd/bases/policies.kubewarden.io_$f.yaml")
  done
  case "$(report_kind)" in
    openreports)
      local chart
      chart=$(echo "$src"/charts/kubewarden-crds/charts/openreports-*.tgz)
      [ -f "$chart" ] || die "no openreports subchart in $src/charts/kubewarden-crds/charts"
      tar -xzf "$chart" -C "$STATE" openreports/templates
      crds+=("$STATE/openreports/templates/openreports.io_reports.yaml"
        "$STATE/openreports/templates/openreports.io_clusterreports.yaml") ;;
    policyreport)
      crds+=("$src/audit-scanner/config/crd/wgpolicyk8s.io_policyreports.yaml"
        "$src/audit-scanner/config/crd/wgpolicyk8s.io_clusterpolicyreports.yaml") ;;
  esac
  for f in "${crds[@]}"; do
    [ -f "$f" ] || die "no CRD $f in the scanner's source"
    # create, not apply: the last-applied annotation would be as large as the CRD
    k get -f "$f" >/dev/null 2>&1 || k create -f "$f" >/dev/null
  done
  k wait --for condition=Established --timeout 30s \
    crd/clusteradmissionpolicies.policies.kubewarden.io crd/admissionpolicies.policies.kubewarden.io \
    crd/clusteradmissionpolicygroups.policies.kubewarden.io crd/admissionpolicygroups.policies.kubewarden.io \
    crd/policyservers.policies.kubewarden.io \
    $(report_resources | sed 's|[^ ]*|crd/&|g') >/dev/null
}

# policies NAME...: the ClusterAdmissionPolicy of each (manifests/NAME.yaml, or its -reject
# variant as derive.py makes it), marked active as the controller marks a policy once
# policy-server serves it.
policies() {
  local name
  for name in "$@"; do
    python3 - "$REPO/manifests" "$name" <<'EOF' | k apply -f - >/dev/null
import json, os, sys, yaml
manifests, name = sys.argv[1:]
base, suffix = name, None
if not os.path.exists(os.path.join(manifests, name + ".yaml")):
    base, _, suffix = name.rpartition("-")
docs = yaml.safe_load_all(open(os.path.join(manifests, base + ".yaml")))
policy = next(d for d in docs if d and d.get("kind") == "ClusterAdmissionPolicy")
if suffix == "reject":
    policy["metadata"]["name"] = name
    policy["spec"]["settings"]["duplicateMacs"] = "reject"
elif suffix is not None:
    sys.exit(f"audit.sh: no manifest for {name}")
print(json.dumps(policy))
EOF
    k patch clusteradmissionpolicy "$name" --subresource=status --type=merge \
      -p '{"status":{"policyStatus":"active","mode":"protect","conditions":[]}}' >/dev/null
  done
}

identity() {
  k apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: ServiceAccount
metadata:
  name: audit-scanner
  namespace: kubewarden
---
# What cmd/audit-scanner of kubewarden-controller v1.35.0 calls: namespaces (list, get), the
# policies (list), the PolicyServer (get), the PolicyServer's Service (list in the kubewarden
# namespace), the resources the policies target (list: here Pods and VirtualMachines), and its
# reports (controllerutil.CreateOrPatch: get, create, patch; DeleteAllOf: deletecollection; with
# openreports also a list of the legacy PolicyReports, skipped when their CRDs are absent).
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: kubemacpool-test-audit-scanner
rules:
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get, list]
- apiGroups: [""]
  resources: [pods]
  verbs: [list]
- apiGroups: [kubevirt.io]
  resources: [virtualmachines]
  verbs: [list]
- apiGroups: [policies.kubewarden.io]
  resources: [clusteradmissionpolicies, admissionpolicies, clusteradmissionpolicygroups, admissionpolicygroups]
  verbs: [list]
- apiGroups: [policies.kubewarden.io]
  resources: [policyservers]
  verbs: [get]
- apiGroups: [wgpolicyk8s.io]
  resources: [policyreports, clusterpolicyreports]
  verbs: [get, list, create, patch, update, delete, deletecollection]
- apiGroups: [openreports.io]
  resources: [reports, clusterreports]
  verbs: [get, list, create, patch, update, delete, deletecollection]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kubemacpool-test-audit-scanner
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: kubemacpool-test-audit-scanner
subjects:
- kind: ServiceAccount
  name: audit-scanner
  namespace: kubewarden
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: kubemacpool-test-audit-scanner
  namespace: kubewarden
rules:
- apiGroups: [""]
  resources: [services]
  verbs: [list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: kubemacpool-test-audit-scanner
  namespace: kubewarden
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: kubemacpool-test-audit-scanner
subjects:
- kind: ServiceAccount
  name: audit-scanner
  namespace: kubewarden
EOF
  sa_kubeconfig "$STATE/audit-scanner.kubeconfig" kubewarden audit-scanner
}

policy_server() {
  k apply -f - >/dev/null <<'EOF'
apiVersion: policies.kubewarden.io/v1
kind: PolicyServer
metadata:
  name: default
spec:
  image: ghcr.io/kubewarden/policy-server:v1.35.0
  replicas: 1
---
apiVersion: v1
kind: Service
metadata:
  name: policy-server-default
  namespace: kubewarden
  labels:
    app.kubernetes.io/instance: policy-server-default
    app.kubernetes.io/component: policy-server
    app.kubernetes.io/part-of: kubewarden
spec:
  clusterIP: None
  ports:
  - name: policy-server
    port: 8443
    targetPort: 8443
  selector:
    app: kubewarden-policy-server-default
EOF
}

setup() {
  local kind=${1:-policyreport}
  case "$kind" in
    openreports | policyreport) echo "$kind" >"$STATE/audit-report-kind" ;;
    *) die "unknown report kind $kind: openreports or policyreport" ;;
  esac
  install_crds
  policy_server
  # shellcheck disable=SC2046
  policies $(cat "$STATE/webhooks")
  identity
}

run_scan() {
  local t0=$SECONDS rc=0 start_line
  start_line=1
  [ ! -f "$STATE/logs/audit-scanner.log" ] || start_line=$(($(wc -l <"$STATE/logs/audit-scanner.log") + 1))
  {
    echo "=== audit-scanner $(date -u +%FT%TZ) $*"
    KUBECONFIG="$STATE/audit-scanner.kubeconfig" "$AUDIT_CACHE/bin/audit-scanner" \
      --kubewarden-namespace kubewarden \
      --policy-server-url "https://127.0.0.1:$PS1_PORT" --extra-ca "$STATE/pki/ca.crt" \
      --report-kind "$(report_kind)" --loglevel debug "$@" || rc=$?
  } >>"$STATE/logs/audit-scanner.log" 2>&1
  echo "$((SECONDS - t0))" >"$STATE/audit-seconds"
  [ $rc -eq 0 ] || { tail -n 20 "$STATE/logs/audit-scanner.log" >&2; die "audit-scanner exited with $rc"; }
  # The scanner logs an error (or a warning, for a failed list) and goes on when a policy is
  # misconfigured, a PolicyServer request or a report write fails: any of those fails the run.
  local problems
  problems=$(sed -n "$start_line,\$p" "$STATE/logs/audit-scanner.log" | grep -E '"level":"(error|warn)"' || true)
  [ -z "$problems" ] || { echo "$problems" | tail -n 5 >&2; die "audit-scanner logged errors or warnings ($STATE/logs/audit-scanner.log)"; }
}

reports_json() {
  local namespaced cluster
  read -r namespaced cluster < <(report_resources)
  case "${1:-}" in
    cluster) k get "$cluster" -o json ;;
    *) k get "$namespaced" -A -o json ;;
  esac
}

reports() {
  reports_json | python3 -c '
import json, sys
for r in sorted(json.load(sys.stdin)["items"], key=lambda r: (r["scope"]["kind"], r["scope"]["namespace"], r["scope"]["name"])):
    s = r["scope"]
    for res in sorted(r.get("results") or [], key=lambda x: x["policy"]):
        print(s["kind"], s["namespace"] + "/" + s["name"], res["policy"], res["result"], res.get("message", ""))
'
}

cmd=${1:-}
case "$cmd" in
  setup | run | reports | reports-json)
    STATE=$(cd "${2:?STATE_DIR}" && pwd)
    load_env
    shift 2
    case "$cmd" in
      setup) setup "$@" ;;
      run) run_scan "$@" ;;
      reports) reports ;;
      reports-json) reports_json "$@" ;;
    esac
    ;;
  *) sed -n '2,/^set -E/p' "$0" | sed '$d'; exit 2 ;;
esac
