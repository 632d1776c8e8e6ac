# The policy in a real cluster (tests/cluster/): etcd and kube-apiserver built from their Go modules,
# policy-server 1.35 behind the webhooks kubewarden-controller writes, tested through kubectl.
# Included by the Makefile. Needs Go (on PATH or /usr/local/go/bin) and kwctl and policy-server on
# PATH; skipped with one line otherwise.

# What every suite on the test cluster needs (also audit.mk, kubemacpool.mk): Go, kwctl, policy-server.
CLUSTER_GO := $(or $(shell command -v go 2>/dev/null),$(wildcard /usr/local/go/bin/go))
CLUSTER_STATE ?= $(CURDIR)/target/cluster
CLUSTER_MISSING := $(strip $(if $(CLUSTER_GO),,Go) $(if $(KWCTL_BIN),,kwctl) $(if $(POLICY_SERVER_BIN),,policy-server))

# $(call upstream_build,NAME,BUILD_SH,COMMAND,SKIPPED): a recipe line that runs BUILD_SH (an upstream
# build, tests/cluster/upstream.bash; its log in target/NAME-build.log), then COMMAND. Where the
# tarball is absent (exit 3) it prints "NAME: <the log's last line>: SKIPPED" and exits 0; on any
# other failure it prints the log and fails.
upstream_build = @mkdir -p $(CURDIR)/target; rc=0; $(2) >/dev/null 2>$(CURDIR)/target/$(1)-build.log || rc=$$?; \
	if [ $$rc -eq 3 ]; then echo "$(1): $$(tail -n 1 $(CURDIR)/target/$(1)-build.log): $(4)"; \
	elif [ $$rc -ne 0 ]; then cat $(CURDIR)/target/$(1)-build.log; exit $$rc; \
	else $(3); fi

.PHONY: cluster-setup cluster-tests demo-cluster cluster-up cluster-down bench-watches
# haproxy: the TCP load balancer in front of two policy-servers; python3-yaml: kmp.cluster.derive.
# docker-registry (the OCI registry the cluster loads the policy from) is unpacked from its Debian
# package into the cache, not installed: installing it would start a registry service on :5000.
CLUSTER_REGISTRY_DIR := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/kubemacpool-policy/docker-registry
cluster-setup: setup
	@command -v haproxy >/dev/null && python3 -c 'import yaml' 2>/dev/null || { \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy python3-yaml >/dev/null; }
	@command -v docker-registry >/dev/null || [ -x $(CLUSTER_REGISTRY_DIR)/usr/bin/docker-registry ] || { \
		mkdir -p $(CLUSTER_REGISTRY_DIR) && cd $(CLUSTER_REGISTRY_DIR) && \
		{ apt-get download docker-registry >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && apt-get download docker-registry >/dev/null; }; } && \
		dpkg-deb -x docker-registry_*.deb . && rm -f docker-registry_*.deb; }

ifneq ($(CLUSTER_MISSING),)
cluster-tests demo-cluster cluster-up bench-watches:
	@echo "cluster: no $(CLUSTER_MISSING): the tests against a real kube-apiserver (tests/cluster) are skipped"
else
# The components are built once (about 6 min on 2 cores) into ~/.cache/kubemacpool-policy/, and
# so is the previous release's module that upgrade.bats upgrades from (tests/cluster/previous.sh,
# about 2 min). The invariant checker takes the label keys from the core through xtask.
cluster-tests: cluster-setup annotated-policy.wasm $(XTASK)
	tests/cluster/build.sh >/dev/null
	tests/cluster/previous.sh >/dev/null
	bats tests/cluster/cluster.bats tests/cluster/pod-update.bats tests/cluster/upgrade.bats tests/cluster/workflows.bats

demo-cluster: cluster-setup annotated-policy.wasm
	tests/cluster/demo.sh

cluster-up: cluster-setup annotated-policy.wasm
	tests/cluster/cluster.sh up $(CLUSTER_STATE)

# What the watches cost the cluster, by hand (not in make test): tests/cluster/bench/watches.sh.
bench-watches: cluster-setup annotated-policy.wasm $(XTASK)
	tests/cluster/build.sh >/dev/null
	tests/cluster/bench/watches.sh
endif

cluster-down:
	tests/cluster/cluster.sh down $(CLUSTER_STATE)
