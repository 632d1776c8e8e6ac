# The shell library of the real-cluster suites: where things are, the Python package, and what
# several scripts do alike. Sourced by cluster.sh, audit.sh, demo.sh, build.sh, bench/*.sh,
# kubemacpool/kubemacpool.sh, upstream.bash (so by audit/build.sh and kubemacpool/build.sh) and
# helpers.bash (so by every bats file here). It defines variables and functions and runs nothing.

# tests/cluster/ and the repository.
CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$CLUSTER_DIR/../.." && pwd)"
# The cache, outside the clone: the Go builds (build.sh, upstream.bash) and docker-registry (make
# cluster-setup), built once and reused by every clone and run.
KMP_CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/kubemacpool-policy"

# kmp_python MODULE ARG...: `python3 -m kmp.MODULE ARG...`, a module of the Python package
# tests/kmp/. KMP_PYTHON names another interpreter (bench.sh: one with matplotlib).
kmp_python() {
  local module=$1
  shift
  PYTHONPATH="$REPO/tests${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1 \
    "${KMP_PYTHON:-python3}" -m "kmp.$module" "$@"
}

# use_go: puts /usr/local/go/bin (where Go's release tarball installs it) on PATH; fails when
# there is no go there nor on PATH.
use_go() {
  export PATH="/usr/local/go/bin:$PATH"
  command -v go >/dev/null
}

die() { echo "${0##*/}: $*" >&2; exit 1; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- The scripts that work on a running cluster, STATE (the STATE_DIR of `cluster.sh up`) ---------

# load_state_env: the variables `cluster.sh up` wrote to STATE/env (BIN, the ports).
load_state_env() {
  [ -f "$STATE/env" ] || die "no cluster in $STATE (run: cluster.sh up $STATE)"
  # shellcheck disable=SC1091
  . "$STATE/env"
}

k() { "$BIN/kubectl" --kubeconfig "$STATE/admin.kubeconfig" "$@"; }

# stop NAME: stops the process of STATE/pids/NAME.pid (TERM, then KILL after 10 s).
stop() {
  local pidfile="$STATE/pids/${1:?NAME}.pid" pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# kubeconfig FILE PORT USER USER-FIELDS: a kubeconfig for https://127.0.0.1:PORT, the test CA, and
# the user USER whose USER-FIELDS (yaml lines, indented 4) say how it authenticates.
kubeconfig() {
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:$2
    certificate-authority: $STATE/pki/ca.crt
users:
- name: $3
  user:
$4
contexts:
- name: test
  context: {cluster: test, user: $3}
current-context: test
EOF
}

# sa_kubeconfig FILE NAMESPACE SERVICEACCOUNT: a kubeconfig for the ServiceAccount (a token valid
# 24 h) against kube-apiserver.
sa_kubeconfig() {
  local token
  token=$(k create token "$3" -n "$2" --duration 24h)
  kubeconfig "$1" "$API_PORT" "$3" "    token: $token"
}
