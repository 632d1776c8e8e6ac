#!/usr/bin/env bats
# What the real kwctl says of the files we ship (`make engine-tests`, with kwctl on PATH):
# the metadata annotates cleanly and artifacthub-pkg.yml is exactly what kwctl writes from it.

bats_require_minimum_version 1.5.0

KWCTL="${KWCTL:-kwctl}"

setup_file() {
  cd "$BATS_TEST_DIRNAME/../.."
  command -v "$KWCTL" >/dev/null || skip "no kwctl ($KWCTL): these tests need the real kwctl"
}

setup() {
  cd "$BATS_TEST_DIRNAME/../.."
}

@test "kwctl annotate takes policy-metadata.yml and the README without a warning" {
  run --separate-stderr "$KWCTL" annotate -m policy-metadata.yml -u README.md \
    -o "$BATS_TEST_TMPDIR/annotated.wasm" policy.wasm
  echo "$stderr"
  [ "$status" -eq 0 ]
  ! grep -Eq 'WARN|ERROR|malformed' <<<"$stderr"
}

@test "kwctl scaffold artifacthub takes policy-metadata.yml without a warning" {
  run --separate-stderr "$KWCTL" scaffold artifacthub --metadata-path policy-metadata.yml \
    --questions-path questions-ui.yml
  echo "$stderr"
  [ "$status" -eq 0 ]
  ! grep -Eq 'WARN|ERROR|malformed' <<<"$stderr"
}

@test "artifacthub-pkg.yml is what kwctl scaffold artifacthub writes, apart from createdAt" {
  run --separate-stderr "$KWCTL" scaffold artifacthub --metadata-path policy-metadata.yml \
    --questions-path questions-ui.yml
  [ "$status" -eq 0 ]
  diff <(grep -v '^createdAt: ' <<<"$output") <(grep -v '^createdAt: ' artifacthub-pkg.yml)
}

@test "the annotated module carries the metadata kwctl inspect shows" {
  run --separate-stderr "$KWCTL" inspect annotated-policy.wasm
  [ "$status" -eq 0 ]
  grep -Eq '^author: +kubemacpool-policy developers <maintainers@kubemacpool-policy.dev>' <<<"$output"
  grep -Eq '^context aware: +true' <<<"$output"
  grep -Eq '^background audit support: +true' <<<"$output"
}

@test "the kwctl commands of docs/testing.md run offline, with RUST_BACKTRACE=1, and print no warning, error or backtrace" {
  local commands="$BATS_TEST_TMPDIR/local.sh"
  awk '/^## Local testing with kwctl/ { on = 1 } on && /^```console/ { block = 1; next } block && /^```/ { exit } block' \
    docs/testing.md | grep -v '^make ' >"$commands"
  [ "$(grep -c '^kwctl run' "$commands")" -eq 2 ]
  run --separate-stderr env RUST_BACKTRACE=1 KWCTL="$KWCTL" bash -c 'set -eo pipefail; kwctl() { command "$KWCTL" "$@"; }; . "$1"' _ "$commands"
  echo "$stderr"
  [ "$status" -eq 0 ]
  ! grep -Eqi 'warn|error|caused by|backtrace|panicked' <<<"$stderr"
  # the patch, then the message
  [[ "$output" == *'"path": "/spec/template/spec/domain/devices/interfaces/0/macAddress"'* ]]
  [[ "$output" == *"index hole: MAC 02:00:00:00:00:85"*"kubectl annotate vm misfiled-vm -n default"* ]]
}
