"""The real-cluster suites' helpers (tests/cluster/): the webhook configurations, the cluster
invariant, KubeVirt's CRDs, the stored shapes, the per-block watch priming."""
