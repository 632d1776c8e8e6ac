# kubemacpool-policy. `make demo` builds the policy and shows it at work; `make test` runs every test.
# Both install what a fresh machine lacks (the wasm target, bats, jq).

SOURCE_FILES := $(shell find src -type f -name '*.rs') Cargo.toml Cargo.lock .cargo/config.toml
TEST_HOST_FILES := $(shell find test-host/src -type f -name '*.rs') test-host/Cargo.toml
TEST_HOST := target/host/test-host
# The real kwctl when installed; otherwise the repository's kwctl-compatible test host.
KWCTL_BIN := $(shell command -v kwctl 2>/dev/null)
ifeq ($(KWCTL_BIN),)
E2E_KWCTL := $(CURDIR)/$(TEST_HOST)
E2E_POLICY := policy.wasm
else
E2E_KWCTL := $(KWCTL_BIN)
E2E_POLICY := annotated-policy.wasm
endif
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
	kwctl annotate -m policy-metadata.yml -u README.md -o annotated-policy.wasm policy.wasm

$(TEST_HOST): $(TEST_HOST_FILES) Cargo.lock
	cargo build --locked --profile host -p test-host

.PHONY: fmt-check
fmt-check:
	cargo fmt --all -- --check
	cargo fmt --manifest-path fuzz/Cargo.toml -- --check

.PHONY: lint
lint:
	cargo clippy --locked --workspace --all-targets -- -D warnings
	cargo clippy --locked --manifest-path fuzz/Cargo.toml --all-targets -- -D warnings

# The fuzz crate's tests replay every seed and every saved crash (fuzz/regressions/) through
# the targets' checks, without libFuzzer.
# The test host's tests share the `host` profile with its binary, so wasmtime is built once.
.PHONY: unit-tests
unit-tests:
	cargo test --locked -p kubemacpool-policy
	cargo test --locked --profile host -p test-host
	cargo test --locked --manifest-path fuzz/Cargo.toml

.PHONY: e2e-tests
e2e-tests: setup $(E2E_POLICY) $(TEST_HOST)
	KWCTL="$(E2E_KWCTL)" POLICY="$(E2E_POLICY)" bats e2e.bats

.PHONY: test
test: setup fmt-check lint unit-tests e2e-tests

BENCH_GUESTS := target/wasm32-wasip1/release/bench_guests.wasm

$(BENCH_GUESTS): bench-guests/src/lib.rs bench-guests/Cargo.toml Cargo.lock
	rustup target add wasm32-wasip1
	cargo build --locked --target wasm32-wasip1 --release -p bench-guests

# Cost per admission at cluster scale (README, Performance), the allocator alone, and the
# residual race between simultaneous admissions (README, Limitations).
.PHONY: bench
bench: policy.wasm $(BENCH_GUESTS) $(TEST_HOST)
	$(TEST_HOST) bench --policy policy.wasm --baselines $(BENCH_GUESTS) --runs 15
	cargo bench --locked --bench allocator
	cargo bench --locked --bench race

# Every cargo-fuzz target for FUZZ_SECONDS each, with a summary of executions and crashes.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh

.PHONY: demo
demo: setup $(E2E_POLICY) $(TEST_HOST)
	@KWCTL="$(E2E_KWCTL)" POLICY="$(E2E_POLICY)" ./scripts/demo.sh

.PHONY: clean
clean:
	cargo clean
	rm -f policy.wasm annotated-policy.wasm
