#!/usr/bin/env bash
# Builds Kubemacpool v0.51.1's manager (./cmd/manager) from the release tarball in
# ../shared/upstream/ (beside the clone: KMP_UPSTREAM_DIR, default <repo>/../shared/upstream),
# checked against the sha256 below, into a cache folder outside the clone keyed by that sha256:
# ${XDG_CACHE_HOME:-~/.cache}/kubemacpool-policy/kubemacpool-<sha256, 16 digits>/, reused when
# present. Prints that folder on stdout; it holds bin/kubemacpool-manager and src/, the unpacked
# tree, whose config/release/kubemacpool.yaml kubemacpool.sh installs (nothing of Kubemacpool is
# committed here).
#
# Exit 3, with one line on stderr, where the tarball is absent (the tests are then skipped with
# that line). A tarball whose sha256 differs is an error (exit 1), never a skip.
# Built inside the unpacked module with its own go.mod, every dependency from the Go module proxy
# (GOFLAGS=-mod=mod, as ../shared/upstream/README.md builds it; the tarball has no vendor/).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
export PATH="/usr/local/go/bin:$PATH"
TARBALL=kubemacpool-v0.51.1.tar.gz
SHA256=dd3b83de33f207b30f9992ddf07554c0e453e2c56d193f475c9d1d1344ffb824
upstream="${KMP_UPSTREAM_DIR:-$repo/../shared/upstream}"
tarball="$upstream/$TARBALL"
if [ ! -f "$tarball" ]; then
  echo "no $TARBALL in $upstream, so Kubemacpool cannot be built" >&2
  exit 3
fi
command -v go >/dev/null || { echo "kubemacpool/build.sh: no go on PATH" >&2; exit 2; }
cache="${KMP_KUBEMACPOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubemacpool-policy/kubemacpool-${SHA256:0:16}}"
if [ -f "$cache/.complete" ]; then echo "$cache"; exit 0; fi
got=$(sha256sum "$tarball" | cut -d' ' -f1)
[ "$got" = "$SHA256" ] || { echo "kubemacpool/build.sh: $tarball has sha256 $got, want $SHA256" >&2; exit 1; }
rm -rf "$cache"
mkdir -p "$cache/bin" "$cache/unpack"
start=$(date +%s)
tar -xzf "$tarball" -C "$cache/unpack"
mv "$cache/unpack/${TARBALL%.tar.gz}" "$cache/src"
rmdir "$cache/unpack"
echo "$TARBALL sha256:$SHA256" >"$cache/source"
src="$cache/src"
grep -q '^module github.com/k8snetworkplumbingwg/kubemacpool$' "$src/go.mod" ||
  { echo "kubemacpool/build.sh: $src is not github.com/k8snetworkplumbingwg/kubemacpool" >&2; exit 1; }

echo "kubemacpool/build.sh: building Kubemacpool's manager of $TARBALL into $cache (first time: about 4 min)" >&2
(cd "$src" && GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0 nice -n 5 \
  go build -trimpath -ldflags=-s -o "$cache/bin/kubemacpool-manager" ./cmd/manager) >&2
echo "kubemacpool/build.sh: built in $(($(date +%s) - start)) s" >&2
echo "$(($(date +%s) - start))" >"$cache/build-seconds"
touch "$cache/.complete"
echo "$cache"
