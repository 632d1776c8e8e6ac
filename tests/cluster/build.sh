#!/usr/bin/env bash
# Builds the test cluster's components from the pinned Go module in this folder (go.mod, go.sum):
# kube-apiserver, kubectl (k8s.io/kubernetes), etcd (go.etcd.io/etcd/server/v3, etcd/main.go) and
# controller-gen (sigs.k8s.io/controller-tools), then writes KubeVirt's CRDs from kubevirt.io/api.
# Everything goes to a cache folder outside the clone, keyed by a hash of the module and its main
# files, and is reused when present. Prints that folder on stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || { echo "build.sh: no go on PATH" >&2; exit 2; }
key=$(cd "$here" && cat go.mod go.sum etcd/main.go kubevirt/kubevirt.go build.sh | sha256sum | cut -c1-16)
cache="${KMP_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubemacpool-policy/cluster-$key}"
if [ -f "$cache/.complete" ]; then echo "$cache"; exit 0; fi
mkdir -p "$cache/bin" "$cache/crds"
start=$(date +%s)
cd "$here"
export GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0
echo "build.sh: building kube-apiserver, kubectl, etcd, controller-gen into $cache (first time: several minutes)" >&2
nice -n 5 go build -trimpath -ldflags=-s -o "$cache/bin/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl \
  sigs.k8s.io/controller-tools/cmd/controller-gen >&2
nice -n 5 go build -trimpath -ldflags=-s -o "$cache/bin/etcd" ./etcd >&2
# KubeVirt's hack/generate.sh: controller-gen crd:allowDangerousTypes=true on kubevirt.io/api/...;
# its CRDs (components/crds.go) then take their schemas from that output.
"$cache/bin/controller-gen" crd:allowDangerousTypes=true paths=kubevirt.io/api/core/v1 \
  output:crd:dir="$cache/crds" >&2
echo "build.sh: built in $(( $(date +%s) - start )) s" >&2
echo "$(( $(date +%s) - start ))" >"$cache/build-seconds"
touch "$cache/.complete"
echo "$cache"
