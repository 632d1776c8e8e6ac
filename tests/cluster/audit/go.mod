// Kubewarden 1.35's audit scanner (cmd/audit-scanner of kubewarden-controller v1.35.0), built by
// build.sh from the release tarball in ../shared/upstream (the module proxy refuses this module),
// every dependency from the proxy.
module kubemacpool-policy/tests/cluster/audit

go 1.26

require github.com/kubewarden/kubewarden-controller v1.35.0

// the release tarball, unpacked by build.sh into src/ beside this file's copy
replace github.com/kubewarden/kubewarden-controller => ./src

// the upstream go.mod's replace directives, copied verbatim (a dependency's own replaces do not
// apply to the module that builds it)
replace github.com/google/cel-go => github.com/google/cel-go v0.22.0

replace github.com/opencontainers/runc => github.com/opencontainers/runc v1.4.2

replace sigs.k8s.io/wg-policy-prototypes => sigs.k8s.io/wg-policy-prototypes v0.0.0-20230505033312-51c21979086a
