#!/usr/bin/env bash
# Builds Kubewarden 1.35's audit scanner (cmd/audit-scanner of the Go module
# github.com/kubewarden/kubewarden-controller at v1.35.0) into a cache folder outside the clone,
# ${XDG_CACHE_HOME:-~/.cache}/kubemacpool-policy/audit-scanner-<hash of this file>/, reused when
# present. Prints that folder on stdout; it holds bin/audit-scanner and src/, the module's source
# tree, from which audit.sh installs the CRDs the scanner reads and writes (nothing of that
# module is committed here).
#
# The source is the Go module proxy: `go mod download -json <module>@v1.35.0` (its Dir, checked
# against go.sum's database as every module download is). Where the proxy does not serve that
# module (this workplace's answers 403 for every version), it exits 3 and says so, and the audit
# tests are skipped with that line: the scanner is built from the module, from nowhere else.
# `go install <module>/cmd/audit-scanner@v1.35.0` is not used: the module's go.mod has replace
# directives (cel-go pinned to v0.22.0 for k8s.io/apiserver), which `go install pkg@version`
# refuses; the scanner is built inside the module with its own go.mod and go.sum (-mod=readonly),
# as its Dockerfile.audit-scanner does.
set -euo pipefail
export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || { echo "audit/build.sh: no go on PATH" >&2; exit 2; }
KW_MODULE=github.com/kubewarden/kubewarden-controller
KW_VERSION=v1.35.0
key=$(sha256sum "$0" | cut -c1-16)
cache="${KMP_AUDIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubemacpool-policy/audit-scanner-$key}"
if [ -f "$cache/.complete" ]; then echo "$cache"; exit 0; fi
rm -rf "$cache"
mkdir -p "$cache/bin"
start=$(date +%s)

dir=$(cd /tmp && go mod download -json "$KW_MODULE@$KW_VERSION" 2>/dev/null |
  python3 -c 'import json, sys; d = json.load(sys.stdin); print("" if d.get("Error") else d.get("Dir", ""))' 2>/dev/null || true)
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
  rm -rf "$cache"
  echo "the Go module proxy does not serve $KW_MODULE@$KW_VERSION, so the audit scanner cannot be built" >&2
  exit 3
fi
cp -r "$dir" "$cache/src"
chmod -R u+w "$cache/src"
echo "from-proxy $KW_MODULE@$KW_VERSION" >"$cache/source"
src="$cache/src"
grep -q "^module $KW_MODULE\$" "$src/go.mod" || { echo "audit/build.sh: $src is not $KW_MODULE" >&2; exit 1; }

echo "audit/build.sh: building the audit scanner of $KW_MODULE@$KW_VERSION into $cache (first time: a few minutes)" >&2
(cd "$src" && GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 nice -n 5 \
  go build -trimpath -ldflags=-s -o "$cache/bin/audit-scanner" ./cmd/audit-scanner) >&2
echo "audit/build.sh: built in $(($(date +%s) - start)) s" >&2
echo "$(($(date +%s) - start))" >"$cache/build-seconds"
touch "$cache/.complete"
echo "$cache"
