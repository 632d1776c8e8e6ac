#!/usr/bin/env bash
# Builds Kubemacpool v0.51.1's manager (./cmd/manager) from the release tarball in
# ../shared/upstream/, checked against the sha256 below, in the Go module beside this script
# (go.mod: github.com/k8snetworkplumbingwg/kubemacpool v0.51.1 replaced by the unpacked tarball),
# into a cache folder outside the clone (../upstream.bash says how, and the exit codes). Prints that
# folder: bin/kubemacpool-manager, and src/, the unpacked tree, whose config/release/kubemacpool.yaml
# kubemacpool.sh installs (nothing of Kubemacpool is committed here).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../upstream.bash
. "$here/../upstream.bash"
build_upstream "$here" kubemacpool kubemacpool-v0.51.1.tar.gz \
  dd3b83de33f207b30f9992ddf07554c0e453e2c56d193f475c9d1d1344ffb824 \
  github.com/k8snetworkplumbingwg/kubemacpool ./cmd/manager kubemacpool-manager "Kubemacpool's manager"
