#!/usr/bin/env bash
# Runs every cargo-fuzz target for FUZZ_SECONDS (default 60) each, then prints one line per
# target: executions, executions per second, corpus size, and crashes (inputs libFuzzer saved
# under fuzz/artifacts/<target>/). Exit status 1 when any target crashed.
#   scripts/fuzz.sh [target ...]     FUZZ_SECONDS=600 scripts/fuzz.sh vm_admission
set -uo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${FUZZ_SECONDS:-60}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(mac multus settings inventory vm_admission pod_admission)

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# cargo-fuzz passes nightly flags (-Zsanitizer=address, sancov); the stable toolchain accepts
# them under RUSTC_BOOTSTRAP, which only this build sees.
export RUSTC_BOOTSTRAP=1
# The workspace's release profile is the policy's (whole-program LTO, one codegen unit, no debug
# info); the fuzzers want a quick build and symbols in their stack traces.
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_DEBUG=1 CARGO_PROFILE_RELEASE_STRIP=none
for target in "${targets[@]}"; do cargo fuzz build -O "$target" || exit 2; done

mkdir -p ../target/fuzz-logs
summary=()
failed=0
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    log="../target/fuzz-logs/$target.log"
    before=$(find "artifacts/$target" -type f | wc -l)
    cargo fuzz run -O "$target" "corpus/$target" "seeds/$target" -- \
        -dict=dict/kubernetes.dict -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
        -print_final_stats=1 >"$log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    corpus=$(find "corpus/$target" -type f | wc -l)
    crashes=$(( $(find "artifacts/$target" -type f | wc -l) - before ))
    summary+=("$(printf '%-14s %12s %10s %8s %8s' "$target" "${runs:-?}" "${speed:-?}" "$corpus" "$crashes")")
    if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        failed=1
        echo "$target: libFuzzer exited $status; see $log and fuzz/artifacts/$target/" >&2
    fi
done

printf '%-14s %12s %10s %8s %8s\n' target executions "exec/s" corpus crashes
printf '%s\n' "${summary[@]}"
printf '%s seconds per target, %s\n' "$seconds" "$(date -u +%Y-%m-%dT%H:%MZ)"
exit $failed
