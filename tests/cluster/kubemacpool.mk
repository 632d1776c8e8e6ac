# Kubemacpool v0.51.1 on the test cluster of cluster.mk (tests/cluster/kubemacpool.bats): its manager
# built from the release tarball in ../shared/upstream/ (tests/cluster/kubemacpool/build.sh, checked
# against its sha256, once, into ~/.cache/kubemacpool-policy/kubemacpool-<sha256>-<go.mod>/), run out of
# cluster behind its own webhook configuration (tests/cluster/kubemacpool/kubemacpool.sh). Included
# by the Makefile after cluster.mk (it uses cluster-setup). Needs Go (on PATH or /usr/local/go/bin),
# and kwctl and policy-server for the cluster; skipped with one line otherwise, and where the
# tarball is absent (build.sh exits 3).

KMP_GO := $(or $(shell command -v go 2>/dev/null),$(wildcard /usr/local/go/bin/go))
KMP_MISSING := $(strip $(if $(KMP_GO),,Go) $(if $(KWCTL_BIN),,kwctl) $(if $(POLICY_SERVER_BIN),,policy-server))

.PHONY: kubemacpool-tests
ifneq ($(KMP_MISSING),)
kubemacpool-tests:
	@echo "kubemacpool: no $(KMP_MISSING): the Kubemacpool smoke test against a real kube-apiserver (tests/cluster/kubemacpool.bats) is skipped"
else
# Kubemacpool is built once (about 4 min on 2 cores) into the cache.
kubemacpool-tests: cluster-setup annotated-policy.wasm
	tests/cluster/build.sh >/dev/null
	@mkdir -p $(CURDIR)/target; rc=0; tests/cluster/kubemacpool/build.sh >/dev/null 2>$(CURDIR)/target/kubemacpool-build.log || rc=$$?; \
	if [ $$rc -eq 3 ]; then echo "kubemacpool: $$(tail -n 1 $(CURDIR)/target/kubemacpool-build.log): the Kubemacpool smoke test (tests/cluster/kubemacpool.bats) is skipped"; \
	elif [ $$rc -ne 0 ]; then cat $(CURDIR)/target/kubemacpool-build.log; exit $$rc; \
	else bats tests/cluster/kubemacpool.bats; fi
endif

# Both systems at scale, by hand (not in make test): tests/cluster/bench/bench.sh. BENCH_CLUSTER_SIZES
# (VMS:PODS ..., default 10000:100000), BENCH_CLUSTER_ARGS (bench.py options). One line and exit 0
# without Go, kwctl or policy-server, or without the Kubemacpool tarball.
.PHONY: bench-cluster
ifneq ($(KMP_MISSING),)
bench-cluster:
	@echo "bench-cluster: no $(KMP_MISSING): skipped"
else
bench-cluster: cluster-setup annotated-policy.wasm
	tests/cluster/build.sh >/dev/null
	@mkdir -p $(CURDIR)/target; rc=0; tests/cluster/kubemacpool/build.sh >/dev/null 2>$(CURDIR)/target/kubemacpool-build.log || rc=$$?; \
	if [ $$rc -eq 3 ]; then echo "bench-cluster: $$(tail -n 1 $(CURDIR)/target/kubemacpool-build.log): skipped"; \
	elif [ $$rc -ne 0 ]; then cat $(CURDIR)/target/kubemacpool-build.log; exit $$rc; \
	else tests/cluster/bench/bench.sh; fi
endif
