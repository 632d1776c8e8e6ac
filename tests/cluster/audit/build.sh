#!/usr/bin/env bash
# Builds Kubewarden 1.35's audit scanner (cmd/audit-scanner of kubewarden-controller v1.35.0) from
# the release tarball in ../shared/upstream/ (beside the clone: KMP_UPSTREAM_DIR, default
# <repo>/../shared/upstream), checked against the sha256 below, into a cache folder outside the
# clone keyed by that sha256:
# ${XDG_CACHE_HOME:-~/.cache}/kubemacpool-policy/audit-scanner-<sha256, 16 digits>/, reused when
# present. Prints that folder on stdout; it holds bin/audit-scanner and src/, the unpacked tree,
# from which audit.sh installs the CRDs the scanner reads and writes (nothing of kubewarden-
# controller is committed here).
#
# Exit 3, with one line on stderr, where the tarball is absent: the audit tests are then skipped
# with that line. A tarball whose sha256 differs is an error (exit 1), never a skip.
# The scanner is built inside the unpacked module with its own go.mod (its replace directives,
# cel-go pinned to v0.22.0 for k8s.io/apiserver, apply only there), every dependency from the Go
# module proxy (GOFLAGS=-mod=mod, as ../shared/upstream/README.md builds it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
export PATH="/usr/local/go/bin:$PATH"
TARBALL=kubewarden-controller-v1.35.0.tar.gz
SHA256=cad657b8d325939487db7c8f158b76b517e7b26ac4670542ea58f307efebdb48
upstream="${KMP_UPSTREAM_DIR:-$repo/../shared/upstream}"
tarball="$upstream/$TARBALL"
if [ ! -f "$tarball" ]; then
  echo "no $TARBALL in $upstream, so the audit scanner cannot be built" >&2
  exit 3
fi
command -v go >/dev/null || { echo "audit/build.sh: no go on PATH" >&2; exit 2; }
cache="${KMP_AUDIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubemacpool-policy/audit-scanner-${SHA256:0:16}}"
if [ -f "$cache/.complete" ]; then echo "$cache"; exit 0; fi
got=$(sha256sum "$tarball" | cut -d' ' -f1)
[ "$got" = "$SHA256" ] || { echo "audit/build.sh: $tarball has sha256 $got, want $SHA256" >&2; exit 1; }
rm -rf "$cache"
mkdir -p "$cache/bin" "$cache/unpack"
start=$(date +%s)
tar -xzf "$tarball" -C "$cache/unpack"
mv "$cache/unpack/${TARBALL%.tar.gz}" "$cache/src"
rmdir "$cache/unpack"
echo "$TARBALL sha256:$SHA256" >"$cache/source"
src="$cache/src"
grep -q '^module github.com/kubewarden/kubewarden-controller$' "$src/go.mod" ||
  { echo "audit/build.sh: $src is not github.com/kubewarden/kubewarden-controller" >&2; exit 1; }

echo "audit/build.sh: building the audit scanner of $TARBALL into $cache (first time: about 4 min)" >&2
(cd "$src" && GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0 nice -n 5 \
  go build -trimpath -ldflags=-s -o "$cache/bin/audit-scanner" ./cmd/audit-scanner) >&2
echo "audit/build.sh: built in $(($(date +%s) - start)) s" >&2
echo "$(($(date +%s) - start))" >"$cache/build-seconds"
touch "$cache/.complete"
echo "$cache"
