# Kubemacpool v0.51.1 on the test cluster of cluster.mk (tests/cluster/kubemacpool.bats): its manager
# built from the release tarball in ../shared/upstream/ (tests/cluster/kubemacpool/build.sh, checked
# against its sha256, once, into ~/.cache/kubemacpool-policy/kubemacpool-<sha256>-<go.mod>/), run out of
# cluster behind its own webhook configuration (tests/cluster/kubemacpool/kubemacpool.sh). Included
# by the Makefile after cluster.mk (it uses cluster-setup). Needs Go (on PATH or /usr/local/go/bin),
# and kwctl and policy-server for the cluster; skipped with one line otherwise, and where the
# tarball is absent (build.sh exits 3).

.PHONY: kubemacpool-tests
ifneq ($(CLUSTER_MISSING),)
kubemacpool-tests:
	@echo "kubemacpool: no $(CLUSTER_MISSING): the Kubemacpool tests against a real kube-apiserver (tests/cluster/kubemacpool.bats and uninstall.bats) are skipped"
else
# Kubemacpool is built once (about 4 min on 2 cores) into the cache.
kubemacpool-tests: cluster-setup annotated-policy.wasm $(XTASK)
	tests/cluster/build.sh >/dev/null
	$(call upstream_build,kubemacpool,tests/cluster/kubemacpool/build.sh,bats tests/cluster/kubemacpool.bats tests/cluster/uninstall.bats,the Kubemacpool tests (tests/cluster/kubemacpool.bats and uninstall.bats) are skipped)
endif

# Both systems at scale, by hand (not in make test): tests/cluster/bench/bench.sh. BENCH_CLUSTER_SIZES
# (VMS:PODS ..., default 10000:100000), BENCH_CLUSTER_ARGS (kmp.bench.bench options). Beside the policy
# and Kubemacpool, the engine floor and a trivial policy run in the policy's policy-server: the
# annotated floor module of bench-engine, $(BENCH_FLOOR). One line and exit 0 without Go, kwctl or
# policy-server, or without the Kubemacpool tarball.
.PHONY: bench-cluster
ifneq ($(CLUSTER_MISSING),)
bench-cluster:
	@echo "bench-cluster: no $(CLUSTER_MISSING): skipped"
else
bench-cluster: cluster-setup annotated-policy.wasm $(BENCH_FLOOR) $(XTASK)
	tests/cluster/build.sh >/dev/null
	$(call upstream_build,bench-cluster,tests/cluster/kubemacpool/build.sh,tests/cluster/bench/bench.sh,skipped)
endif
