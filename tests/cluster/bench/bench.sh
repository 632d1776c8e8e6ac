#!/usr/bin/env bash
# make bench-cluster: for each size VMS:PODS of BENCH_CLUSTER_SIZES (default 10000:100000), a fresh
# test cluster (cluster.sh up), kmp.bench.bench on it (the policy in each inventory mode, after a
# restart and warm, the engine floor and a trivial policy in the same policy-server (BENCH_FLOOR,
# default target/bench-floor.wasm), then Kubemacpool, one at a time on the same API server and etcd;
# the watches and connections per replica), the cluster stopped. Results as JSON in
# target/bench-cluster/<vms>-<pods>.json, a table on stdout (kmp.bench.table) and, with matplotlib,
# the picture target/bench-cluster/bench-cluster.svg (kmp.bench.plot), copied to
# docs/img/side-by-side.svg, the README's.
# BENCH_CLUSTER_ARGS passes options to kmp.bench.bench (--samples, --modes).
set -euo pipefail
# shellcheck source=../lib.bash
. "$(dirname "$0")/../lib.bash"
out="$REPO/target/bench-cluster"
floor=${BENCH_FLOOR:-target/bench-floor.wasm}  # make passes its BENCH_FLOOR, relative to the repository
[[ "$floor" = /* ]] || floor="$REPO/$floor"
mkdir -p "$out"
"$CLUSTER_DIR/kubemacpool/build.sh" >/dev/null
status=0
for size in ${BENCH_CLUSTER_SIZES:-10000:100000}; do
  vms=${size%%:*} pods=${size#*:}
  state="$out/state-$vms-$pods"
  "$CLUSTER_DIR/cluster.sh" down "$state" 2>/dev/null || true
  "$CLUSTER_DIR/cluster.sh" up "$state" >/dev/null
  rc=0
  rm -f "$out/$vms-$pods.json"  # kmp.bench.bench writes it only when it measured everything
  # shellcheck disable=SC2086
  kmp_python bench.bench --state "$state" --vms "$vms" --pods "$pods" --out "$out/$vms-$pods.json" \
    --floor "$floor" ${BENCH_CLUSTER_ARGS:-} >/dev/null || rc=$?
  "$CLUSTER_DIR/cluster.sh" down "$state"
  # an answer that failed its check (a problem) ends the run with exit 1, after every size, the
  # tables and the picture; any other failure at once
  [ -f "$out/$vms-$pods.json" ] && [ "$rc" -le 1 ] || { echo "bench-cluster: $vms VMs, $pods Pods: kmp.bench.bench exited $rc" >&2; exit "$rc"; }
  [ "$rc" -eq 0 ] || { echo "bench-cluster: $vms VMs, $pods Pods: problems (see $out/$vms-$pods.json)" >&2; status=1; }
done
kmp_python bench.table "$out"/*-*.json
# The picture (matplotlib, from PyPI: BENCH_PYTHON names a python3 that has it).
py=${BENCH_PYTHON:-python3}
if "$py" -c 'import matplotlib' 2>/dev/null; then
  KMP_PYTHON=$py kmp_python bench.plot "$out/bench-cluster.svg" "$out"/*-*.json
  # the README's picture (BENCH_CLUSTER_PICTURE= keeps it as it is)
  picture=${BENCH_CLUSTER_PICTURE-$REPO/docs/img/side-by-side.svg}
  [ -z "$picture" ] || { mkdir -p "$(dirname "$picture")" && cp "$out/bench-cluster.svg" "$picture"; }
  echo "bench-cluster: $out/bench-cluster.svg${picture:+, copied to $picture}"
else
  echo "bench-cluster: no matplotlib for $py (pip install matplotlib, then BENCH_PYTHON=...): no picture"
fi
exit "$status"
