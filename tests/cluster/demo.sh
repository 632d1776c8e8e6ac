#!/usr/bin/env bash
# `make demo-cluster`: brings the loopback cluster up, shows Kubemacpool's first example through
# kubectl (a VM on the pod network, and a Pod with a Multus annotation), and stops the cluster.
set -euo pipefail
# shellcheck source=lib.bash
. "$(dirname "$0")/lib.bash"
STATE="${CLUSTER_STATE:-$REPO/target/demo-cluster}"
t0=$SECONDS
"$CLUSTER_DIR/build.sh" >/dev/null
echo "demo: components ready in $((SECONDS - t0)) s (built once, then cached)"
trap '"$CLUSTER_DIR/cluster.sh" down "$STATE"' EXIT
"$CLUSTER_DIR/cluster.sh" up "$STATE" 2>&1 | grep -v '^export'
# shellcheck disable=SC1091
. "$STATE/env"
export KUBECONFIG="$STATE/admin.kubeconfig" PATH="$BIN:$PATH"
show() { printf '\n$ %s\n' "$*"; "$@"; }

kubectl create namespace demo >/dev/null
kubectl label namespace demo mutatepods.kubemacpool.io=allocate >/dev/null
kubectl create serviceaccount default -n demo >/dev/null
cd "$STATE"
cat >simplevm.yaml <<'EOF'
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: simplevm
  namespace: demo
spec:
  runStrategy: Halted
  template:
    spec:
      domain:
        devices:
          interfaces:
          - name: default
            masquerade: {}
        resources:
          requests:
            memory: 64Mi
      networks:
      - name: default
        pod: {}
EOF
cat >multus-pod.yaml <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: multus-pod
  namespace: demo
  annotations:
    k8s.v1.cni.cncf.io/networks: '[{"name":"br1","interface":"net1"}]'
spec:
  containers:
  - name: app
    image: registry.k8s.io/pause:3.10
EOF
echo
echo "The webhooks in front of policy-server (derived from manifests/*.yaml):"
kubectl get mutatingwebhookconfigurations
show cat simplevm.yaml
show kubectl apply -f simplevm.yaml
printf '\n$ kubectl get vm simplevm -n demo -o yaml   (excerpt)\n'
kubectl get vm simplevm -n demo -o yaml | grep -B3 -A3 macAddress
kubectl get vm simplevm -n demo -o yaml | grep -A3 '^  labels:' | head -4
show kubectl apply -f multus-pod.yaml
printf '\n$ kubectl get pod multus-pod -n demo -o jsonpath={.metadata.annotations.k8s\\.v1\\.cni\\.cncf\\.io/networks}\n'
kubectl get pod multus-pod -n demo -o jsonpath='{.metadata.annotations.k8s\.v1\.cni\.cncf\.io/networks}'
echo
echo
echo "demo: done in $((SECONDS - t0)) s; stopping the cluster"
