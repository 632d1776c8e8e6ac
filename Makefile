# kubemacpool-policy. `make demo` builds the policy and shows it at work; `make test` runs every test.
# Both install what a fresh machine lacks (the wasm target, bats, jq).

SOURCE_FILES := $(shell find src -type f -name '*.rs') Cargo.toml Cargo.lock .cargo/config.toml
TEST_HOST_FILES := $(shell find test-host/src -type f -name '*.rs') test-host/Cargo.toml
TEST_HOST := target/host/test-host
# The real engine when installed (kwctl, policy-server on PATH): e2e.bats then runs under both
# kwctl and the repository's kwctl-compatible test host, which must answer byte for byte alike.
KWCTL_BIN := $(shell command -v kwctl 2>/dev/null)
POLICY_SERVER_BIN := $(shell command -v policy-server 2>/dev/null)
ifeq ($(KWCTL_BIN),)
E2E_KWCTL := $(CURDIR)/$(TEST_HOST)
E2E_POLICY := policy.wasm
else
E2E_KWCTL := $(KWCTL_BIN)
E2E_POLICY := annotated-policy.wasm
endif
# kwctl and policy-server print a backtrace into every error string when this is 1.
export RUST_BACKTRACE := 0
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all
all: policy.wasm

.PHONY: setup
setup:
	rustup target add wasm32-wasip1
	@command -v bats >/dev/null && command -v jq >/dev/null || { \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bats jq >/dev/null; }

policy.wasm: $(SOURCE_FILES)
	rustup target add wasm32-wasip1
	cargo build --locked --target wasm32-wasip1 --release -p kubemacpool-policy
	cp target/wasm32-wasip1/release/kubemacpool_policy.wasm policy.wasm

annotated-policy.wasm: policy.wasm policy-metadata.yml README.md
	$(if $(KWCTL_BIN),,$(error annotated-policy.wasm needs kwctl on PATH))
	kwctl annotate -m policy-metadata.yml -u README.md -o annotated-policy.wasm policy.wasm

$(TEST_HOST): $(TEST_HOST_FILES) Cargo.lock
	cargo build --locked --profile host -p test-host

# The Python tooling: one package, tests/kmp/, every module run as `python3 -m kmp.<module>`.
KMP_PYTHON := PYTHONPATH=$(CURDIR)/tests PYTHONDONTWRITEBYTECODE=1 python3

# The policy's protocol and hash for the Python tooling (kmp.protocol).
XTASK := target/debug/xtask
$(XTASK): $(SOURCE_FILES) $(shell find xtask/src -type f -name '*.rs') xtask/Cargo.toml
	cargo build --locked -p xtask

# Kubewarden's policies name their targets fmt, lint, test and e2e-tests; as there, fmt checks.
.PHONY: fmt
fmt:
	cargo fmt --all -- --check

# The first run lints the policy as policy.wasm is built (default features, no test doubles, its
# modules private: src/internals.rs), so a private item that nothing uses is an error there.
.PHONY: lint
lint:
	cargo clippy --locked -p kubemacpool-policy --lib -- -D warnings
	cargo clippy --locked --workspace --all-targets -- -D warnings

# The fuzz crate's tests replay every seed and every saved crash (fuzz/regressions/) through
# the targets' checks, without libFuzzer.
# The test host's tests share the `host` profile with its binary, so wasmtime is built once.
# The Python unit tests, one discovery root (tests/kmp/**/test_*.py): the fake API server's
# self-test, and what bench-cluster (run by hand) counts as a problem.
# The fixture check regenerates test_data/ in a scratch folder with the policy's protocol (through
# xtask) and fails when a committed fixture differs; `make test-data` writes them.
.PHONY: unit-tests
unit-tests: $(XTASK)
	cargo test --locked -p kubemacpool-policy -p xtask -p kubemacpool-policy-fuzz
	cargo test --locked --profile host -p test-host
	$(KMP_PYTHON) -m unittest discover -s tests/kmp -t tests
	$(KMP_PYTHON) -m kmp.fixtures --check

# Rewrites the committed fixtures of test_data/ (kmp.fixtures); commit what it writes.
.PHONY: test-data
test-data: $(XTASK)
	$(KMP_PYTHON) -m kmp.fixtures

.PHONY: e2e-tests
ifeq ($(KWCTL_BIN),)
e2e-tests: setup policy.wasm $(TEST_HOST) $(XTASK)
	@echo "e2e: no kwctl on PATH: e2e.bats runs on the test host only; the kwctl runs are skipped"
	KWCTL="$(CURDIR)/$(TEST_HOST)" POLICY=policy.wasm bats e2e.bats
else
e2e-tests: setup annotated-policy.wasm $(TEST_HOST) $(XTASK)
	@echo "e2e: on the test host, every answer compared byte for byte with $(KWCTL_BIN)"
	KWCTL="$(CURDIR)/$(TEST_HOST)" KWCTL_REFERENCE="$(KWCTL_BIN)" POLICY=annotated-policy.wasm bats e2e.bats
	@echo "e2e: on $(KWCTL_BIN)"
	KWCTL="$(KWCTL_BIN)" POLICY=annotated-policy.wasm bats e2e.bats
endif

# What only the real engine can check: kwctl takes the metadata as it is and writes the Artifact
# Hub package we ship; policy-server, against a fake API server, answers as kwctl does. (The fake
# API server's own tests are unit tests.)
.PHONY: engine-tests
ifeq ($(KWCTL_BIN),)
engine-tests:
	@echo "engine: no kwctl on PATH: the kwctl metadata tests and the policy-server smoke test are skipped"
else
engine-tests: setup annotated-policy.wasm $(XTASK)
	KWCTL="$(KWCTL_BIN)" bats tests/engine/kwctl.bats
ifeq ($(POLICY_SERVER_BIN),)
	@echo "engine: no policy-server on PATH: the policy-server smoke test is skipped"
else
	POLICY_SERVER="$(POLICY_SERVER_BIN)" bats tests/engine/policy-server.bats
endif
endif

# Every suite this machine can run, one after another, then what each took (also when one fails).
SUITES := fmt lint unit-tests e2e-tests bench-smoke engine-tests cluster-tests audit-tests kubemacpool-tests
.PHONY: test
test: setup
	@summary=""; status=0; \
	for suite in $(SUITES); do \
		start=$$(date +%s); \
		$(MAKE) --no-print-directory $$suite || status=$$?; \
		took=$$(( $$(date +%s) - start )); \
		summary="$$summary  $$suite: $$((took / 60)) min $$((took % 60)) s$$([ $$status = 0 ] || echo ' FAILED')\n"; \
		[ $$status = 0 ] || break; \
	done; \
	printf "make test: time per suite\n$$summary"; \
	exit $$status

BENCH_GUESTS := target/wasm32-wasip1/release/bench_guests.wasm

$(BENCH_GUESTS): bench-guests/src/lib.rs bench-guests/Cargo.toml $(SOURCE_FILES)
	rustup target add wasm32-wasip1
	cargo build --locked --target wasm32-wasip1 --release -p bench-guests

# Cost per admission at cluster scale (docs/performance.md), the allocator alone, and the
# residual race between simultaneous admissions (docs/design.md, The race bound).
.PHONY: bench
bench: policy.wasm $(BENCH_GUESTS) $(TEST_HOST)
	$(TEST_HOST) bench --policy policy.wasm --baselines $(BENCH_GUESTS) --runs 15
	cargo bench --locked --bench allocator
	cargo bench --locked --bench race

# In make test: make bench's guest benchmark still runs (one small round, not a measurement; it
# broke once when the policy gained a host call its bench host did not answer).
.PHONY: bench-smoke
bench-smoke: setup policy.wasm $(BENCH_GUESTS) $(TEST_HOST)
	$(TEST_HOST) bench --policy policy.wasm --baselines $(BENCH_GUESTS) --sizes 100:1000 --runs 1 >/dev/null
	@echo "bench-smoke: the guest benchmark ran one small round"

# The engine floor for `bench-engine`: bench-guests annotated, as policy-server loads only
# annotated modules.
BENCH_FLOOR := target/bench-floor.wasm
$(BENCH_FLOOR): $(BENCH_GUESTS) bench-guests/metadata.yml
	kwctl annotate -m bench-guests/metadata.yml -o $(BENCH_FLOOR) $(BENCH_GUESTS)

# Admissions in the real policy-server against the fake API server, per inventory mode, beside
# the engine floor of the same calls (docs/performance.md). BENCH_ENGINE_ARGS passes options
# (--sizes quick [2000:20000, the default] | full [10000:100000,100000:100000] | VMS:PODS,...,
# --rounds, --modes, --adoptions, --server-per-mode, --floor-only-modes). The Sigstore trust root
# beside policy-server, when there, spares it a network fetch (SIGSTORE_TRUST_CONFIG overrides).
.PHONY: bench-engine
ifeq ($(and $(KWCTL_BIN),$(POLICY_SERVER_BIN)),)
bench-engine:
	@echo "bench-engine: needs kwctl and policy-server on PATH (Kubewarden 1.35): skipped"
else
BENCH_TRUST := $(or $(SIGSTORE_TRUST_CONFIG),$(wildcard $(dir $(POLICY_SERVER_BIN))sigstore-trust-config.json))
bench-engine: annotated-policy.wasm $(BENCH_FLOOR) $(XTASK)
	$(KMP_PYTHON) -m kmp.bench_engine --policy-server "$(POLICY_SERVER_BIN)" \
		--policy annotated-policy.wasm --floor $(BENCH_FLOOR) \
		$(if $(BENCH_TRUST),--sigstore-trust-config "$(BENCH_TRUST)") $(BENCH_ENGINE_ARGS)
endif

# Every cargo-fuzz target for FUZZ_SECONDS each, with a summary of executions and crashes.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh

# The demo needs the test host only where kwctl is missing.
DEMO_ENGINE := $(if $(KWCTL_BIN),,$(TEST_HOST))

.PHONY: demo-banner
demo-banner:
	@echo "demo: building policy.wasm (about 2 min on 2 cores)$(if $(KWCTL_BIN),, and the kwctl-compatible test host, wasmtime included (about 3 min more)), then evaluating the README's VM and Pod against the sample cluster with $(if $(KWCTL_BIN),$(KWCTL_BIN),the test host)"

.PHONY: demo
demo: demo-banner setup $(E2E_POLICY) $(DEMO_ENGINE)
	@KWCTL="$(E2E_KWCTL)" POLICY="$(E2E_POLICY)" ./scripts/demo.sh

.PHONY: clean
clean:
	cargo clean
	rm -f policy.wasm annotated-policy.wasm

# Rewrites artifacthub-pkg.yml from the metadata and the settings form, as a release does.
.PHONY: artifacthub
artifacthub:
	kwctl scaffold artifacthub --metadata-path policy-metadata.yml --questions-path questions-ui.yml --output artifacthub-pkg.yml

include tests/cluster/cluster.mk
include tests/cluster/audit.mk
include tests/cluster/kubemacpool.mk
