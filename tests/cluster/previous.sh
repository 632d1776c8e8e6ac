#!/usr/bin/env bash
# Builds the policy as it was before index v2 (behaviour.md 7.1; it wrote `indexed: "v1"` and
# `mac-block.kubemacpool.io/<bb>` labels), annotated, once, into the cache, and prints its path:
# what an operator upgrades from (upgrade.bats). The source is this repository's commit PREVIOUS
# (git archive: the clone needs its history); the build has its own target folder in the cache.
set -euo pipefail
# shellcheck source=lib.bash
. "$(dirname "$0")/lib.bash"

PREVIOUS=267e67cd9f4f245e46b1ea0824e26789ab65a71b
out="$KMP_CACHE_ROOT/policy-index-v1-$PREVIOUS.wasm"
if [ -f "$out" ]; then
  echo "$out"
  exit 0
fi
git -C "$REPO" cat-file -e "$PREVIOUS^{commit}" 2>/dev/null ||
  die "commit $PREVIOUS (the index v1 release) is not in this clone: fetch the full history (git fetch --unshallow)"
command -v kwctl >/dev/null || die "no kwctl on PATH: it annotates the module"
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
git -C "$REPO" archive "$PREVIOUS" | tar -x -C "$src"
target="$KMP_CACHE_ROOT/previous-target"
(cd "$src" && CARGO_TARGET_DIR="$target" cargo build --locked --quiet --target wasm32-wasip1 --release -p kubemacpool-policy) >&2
mkdir -p "$KMP_CACHE_ROOT"
kwctl annotate -m "$src/policy-metadata.yml" -u "$src/README.md" -o "$out.tmp" \
  "$target/wasm32-wasip1/release/kubemacpool_policy.wasm" >&2
mv "$out.tmp" "$out"
echo "$out"
