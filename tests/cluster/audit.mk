# Kubewarden 1.35's audit scanner against the test cluster of cluster.mk (tests/cluster/audit.bats):
# the scanner built from the kubewarden-controller v1.35.0 release tarball in ../shared/upstream/
# (tests/cluster/audit/build.sh, checked against its sha256, once, into
# ~/.cache/kubemacpool-policy/audit-scanner-<sha256>-<go.mod>/), run from outside the cluster against
# policy-server. Included by the Makefile after cluster.mk (it uses cluster-setup). Needs Go (on
# PATH or /usr/local/go/bin), kwctl and policy-server; skipped with one line otherwise.
# Where the tarball is absent, build.sh exits 3 and the tests are skipped with its line. The suite
# runs twice: with OpenReports (what Kubewarden 1.35's Helm charts install) and with PolicyReports.

.PHONY: audit-tests
ifneq ($(CLUSTER_MISSING),)
audit-tests:
	@echo "audit: no $(CLUSTER_MISSING): the audit-scanner tests against a real kube-apiserver (tests/cluster/audit.bats) are skipped"
else
# The scanner is built once (about 4 min on 2 cores, after the cluster's 6) into the cache.
audit-tests: cluster-setup annotated-policy.wasm $(XTASK)
	tests/cluster/build.sh >/dev/null
	$(call upstream_build,audit,tests/cluster/audit/build.sh,KMP_AUDIT_REPORT_KIND=openreports bats tests/cluster/audit.bats && KMP_AUDIT_REPORT_KIND=policyreport bats tests/cluster/audit.bats,the audit-scanner tests (tests/cluster/audit.bats) are skipped)
endif
