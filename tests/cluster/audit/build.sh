#!/usr/bin/env bash
# Builds Kubewarden 1.35's audit scanner (cmd/audit-scanner of the Go module
# github.com/kubewarden/kubewarden-controller at v1.35.0) into a cache folder outside the clone,
# ${XDG_CACHE_HOME:-~/.cache}/kubemacpool-policy/audit-scanner-<hash of this file>/, reused when
# present. Prints that folder on stdout; it holds bin/audit-scanner and src/, the module's source
# tree, from which audit.sh installs the CRDs the scanner reads and writes (nothing of that
# module is committed here).
#
# The source, in this order:
#   1. the Go module proxy: `go mod download -json <module>@v1.35.0` (its Dir, checked by go.sum's
#      database as every module download is);
#   2. a git clone of the tag (KMP_KUBEWARDEN_CONTROLLER_GIT, default the GitHub repository),
#      accepted only when the tag is the release's commit (KW_COMMIT below).
# `go install <module>/cmd/audit-scanner@v1.35.0` is not used: the module's go.mod has replace
# directives (cel-go pinned to v0.22.0 for k8s.io/apiserver), which `go install pkg@version`
# refuses; the scanner is built inside the module with its own go.mod and go.sum (-mod=readonly),
# as its Dockerfile.audit-scanner does.
set -euo pipefail
export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || { echo "audit/build.sh: no go on PATH" >&2; exit 2; }
KW_MODULE=github.com/kubewarden/kubewarden-controller
KW_VERSION=v1.35.0
KW_COMMIT=9462fe11de6ba81404ef0cb88fc0346f877d04a1
key=$(sha256sum "$0" | cut -c1-16)
cache="${KMP_AUDIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubemacpool-policy/audit-scanner-$key}"
if [ -f "$cache/.complete" ]; then echo "$cache"; exit 0; fi
rm -rf "$cache"
mkdir -p "$cache/bin"
start=$(date +%s)

src=""
if dir=$(cd /tmp && go mod download -json "$KW_MODULE@$KW_VERSION" 2>/dev/null |
  python3 -c 'import json, sys; d = json.load(sys.stdin); print(d.get("Dir", "")) if not d.get("Error") else None') &&
  [ -n "$dir" ] && [ -d "$dir" ]; then
  cp -r "$dir" "$cache/src"
  chmod -R u+w "$cache/src"
  echo "from-proxy $KW_MODULE@$KW_VERSION" >"$cache/source"
  src="$cache/src"
else
  repo="${KMP_KUBEWARDEN_CONTROLLER_GIT:-https://github.com/kubewarden/kubewarden-controller.git}"
  echo "audit/build.sh: the Go module proxy does not serve $KW_MODULE@$KW_VERSION; cloning $repo at $KW_VERSION" >&2
  git clone -q --bare --depth 1 --branch "$KW_VERSION" "$repo" "$cache/git" >&2
  commit=$(git -C "$cache/git" rev-parse "$KW_VERSION^{commit}")
  [ "$commit" = "$KW_COMMIT" ] || {
    echo "audit/build.sh: $repo has $KW_VERSION at $commit, not the release's $KW_COMMIT" >&2
    exit 1
  }
  mkdir -p "$cache/src"
  git -C "$cache/git" archive "$commit" | tar -x -C "$cache/src"
  rm -rf "$cache/git"
  echo "git $repo $KW_VERSION $commit" >"$cache/source"
  src="$cache/src"
fi
grep -q "^module $KW_MODULE\$" "$src/go.mod" || { echo "audit/build.sh: $src is not $KW_MODULE" >&2; exit 1; }

echo "audit/build.sh: building the audit scanner of $KW_MODULE@$KW_VERSION into $cache (first time: a few minutes)" >&2
(cd "$src" && GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 nice -n 5 \
  go build -trimpath -ldflags=-s -o "$cache/bin/audit-scanner" ./cmd/audit-scanner) >&2
echo "audit/build.sh: built in $(($(date +%s) - start)) s" >&2
echo "$(($(date +%s) - start))" >"$cache/build-seconds"
touch "$cache/.complete"
echo "$cache"
