#!/usr/bin/env bash
# Builds Kubewarden 1.35's audit scanner (cmd/audit-scanner of kubewarden-controller v1.35.0) from
# the release tarball in ../shared/upstream/, checked against the sha256 below, in the Go module
# beside this script (go.mod: github.com/kubewarden/kubewarden-controller v1.35.0 replaced by the
# unpacked tarball; its replace directives, cel-go pinned to v0.22.0 for k8s.io/apiserver among
# them, repeated), into a cache folder outside the clone (../upstream.bash says how, and the exit
# codes). Prints that folder: bin/audit-scanner, and src/, the unpacked tree, from which audit.sh
# installs the CRDs the scanner reads and writes (nothing of kubewarden-controller is committed here).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../upstream.bash
. "$here/../upstream.bash"
build_upstream "$here" audit-scanner kubewarden-controller-v1.35.0.tar.gz \
  cad657b8d325939487db7c8f158b76b517e7b26ac4670542ea58f307efebdb48 \
  github.com/kubewarden/kubewarden-controller ./cmd/audit-scanner audit-scanner "the audit scanner"
