#!/usr/bin/env bash
# make bench-watches: what the policy's watches cost (tests/kmp/bench/watches.py says what is
# measured). Three clusters, one after the other, each started fresh and stopped:
#   1. empty, haproxy maxconn 1024 on apiproxy (the harness's old limit): both replicas primed;
#   2. the same with maxconn 8192 (the harness's now);
#   3. BENCH_WATCHES_SIZE (VMS:PODS, default 10000:100000) loaded as bench-cluster loads it: the
#      cost of `indexed` and `pods-tracked` with 2 replicas, idle and under Pod churn.
# Results as JSON in target/bench-watches/, the tables on stdout. BENCH_WATCHES_ARGS passes options
# to `kmp.bench.watches cost` (--rate, --seconds); BENCH_WATCHES_STEPS (default "1024 8192 cost") picks steps.
set -euo pipefail
# shellcheck source=../lib.bash
. "$(dirname "$0")/../lib.bash"
out="$REPO/target/bench-watches"
mkdir -p "$out"
# every cluster knows the pods-tracked variant, so `replicas` keeps it when it derives again
export KMP_DERIVE_ARGS="--variant podstracked:inventory=pods-tracked"
size=${BENCH_WATCHES_SIZE:-10000:100000}
files=()
for step in ${BENCH_WATCHES_STEPS:-1024 8192 cost}; do
  state="$out/state-$step"
  "$CLUSTER_DIR/cluster.sh" down "$state" 2>/dev/null || true
  rc=0
  if [ "$step" = cost ]; then
    "$CLUSTER_DIR/cluster.sh" up "$state" >/dev/null
    # shellcheck disable=SC2086
    kmp_python bench.watches cost --state "$state" --vms "${size%%:*}" --pods "${size#*:}" \
      --out "$out/cost.json" ${BENCH_WATCHES_ARGS:-} >/dev/null || rc=$?
    files+=("$out/cost.json")
  else
    # --v 3: kube-apiserver logs every request with its client port, which pins down a stall
    KMP_APISERVER_V=3 KMP_HAPROXY_MAXCONN=$step "$CLUSTER_DIR/cluster.sh" up "$state" >/dev/null
    KMP_HAPROXY_MAXCONN=$step kmp_python bench.watches primes --state "$state" --out "$out/primes-$step.json" >/dev/null || rc=$?
    files+=("$out/primes-$step.json")
  fi
  "$CLUSTER_DIR/cluster.sh" down "$state"
  [ "$rc" -eq 0 ] || { echo "bench-watches: step $step: kmp.bench.watches exited $rc" >&2; exit "$rc"; }
done
kmp_python bench.watches table "${files[@]}"
