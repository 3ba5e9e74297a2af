# Modex — one Makefile for building, testing and benchmarking.
# `make run` and `make test` are the two commands a fresh machine needs.

GO       ?= go
BIN      ?= bin/modex
FUZZTIME ?= 30s
PKGS     := ./...
NPM      ?= npm
SOLC_DIR := contracts/solc

.PHONY: all build run test test-long bench bench-1m lint fuzz clean solc icicle gpu test-icicle gpu-bench contracts

all: build

build:
	$(GO) build -o $(BIN) ./cmd/modex

# The devnet: an embedded L1, the rollup deployed on it and a node, with
# funded dev accounts (README "Quick start"). The first start compiles every
# family's circuit and runs the dev setup, cached in build/devnet-keys. The
# binary needs no Node or solc: verifiers are the committed keyed verifier.
run: build
	./$(BIN) devnet

# The suite CI runs: vet, then every test, including the state crash test
# (>= 50 SIGKILLs), the property test and the fuzz seed corpora. Needs solc
# (tests compile gnark's exported verifier to compare the keyed one with it,
# and check the committed artifacts are not stale).
test: solc
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 30m $(PKGS)

# The long-run suite: bigger property runs and >= 200 SIGKILL points.
test-long: solc
	MODEX_LONG=1 $(GO) test -count=1 -timeout 120m $(PKGS)

# Benchmarks at production depths (the 1M-account ones are in bench-1m).
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -skip 1M $(PKGS)
	./$(BIN) bench apply --json
	./$(BIN) bench seal --json

# Tree update and proof at depth 24 with 1,000,000 accounts (loads for minutes).
bench-1m:
	$(GO) test -run '^$$' -bench 1M -benchtime 2000x -timeout 60m ./state/smt/ ./state/
	rm -rf $${TMPDIR:-/tmp}/modex-state1m*

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# The pinned Solidity compiler (solc-js, contracts/solc/package-lock.json).
# Installs only when node_modules is missing or older than the lock file.
solc: $(SOLC_DIR)/node_modules/.package-lock.json

$(SOLC_DIR)/node_modules/.package-lock.json: $(SOLC_DIR)/package.json $(SOLC_DIR)/package-lock.json
	$(NPM) ci --prefix $(SOLC_DIR) --no-audit --no-fund
	@touch $@

# Compiles contracts/src/**/*.sol into contracts/artifacts/<Contract>.json and
# writes their abigen v2 bindings, contracts/bindings/bindings.go. Both are
# committed; contracts/gen's test fails when they are stale.
contracts: solc
	$(GO) run ./contracts/gen -verifier
	node $(SOLC_DIR)/build.js contracts/artifacts
	$(GO) run ./contracts/gen

# Runs every fuzz target for FUZZTIME each.
fuzz:
	@set -e; for p in ./types ./state; do \
	  for f in $$($(GO) test -list '^Fuzz' $$p | grep '^Fuzz'); do \
	    echo "== $$p $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$p; \
	  done; done

# --- GPU prover (ICICLE) -----------------------------------------------------
# ICICLE's native libraries, built from the Go module's own sources by
# scripts/icicle-build.sh: the CPU backend always, the CUDA backend where nvcc
# exists. Nothing here is needed by `make test` or the untagged binary.
ICICLE     ?= $(CURDIR)/build/icicle
ICICLE_ENV := CGO_LDFLAGS="-L$(ICICLE)/lib -Wl,-rpath,$(ICICLE)/lib" ICICLE_BACKEND_INSTALL_DIR=$(ICICLE)/lib/backend

icicle: $(ICICLE)/BUILD_INFO

$(ICICLE)/BUILD_INFO: scripts/icicle-build.sh go.mod
	ICICLE_PREFIX=$(ICICLE) bash scripts/icicle-build.sh

# bin/modex-gpu: modex built with -tags icicle (`bench prove --backend icicle|both`).
gpu: icicle
	$(ICICLE_ENV) $(GO) build -tags icicle -o bin/modex-gpu ./cmd/modex

# The icicle-tagged tests: ICICLE's CPU backend by default (any machine);
# MODEX_ICICLE_BACKEND=CUDA on a machine with an NVIDIA GPU.
test-icicle: icicle solc
	$(ICICLE_ENV) $(GO) test -tags icicle -count=1 -timeout 30m -run ICICLE -v ./prover/

# The GPU figures: CPU prover against ICICLE CUDA on the same batches (needs nvcc and a GPU).
gpu-bench:
	bash scripts/gpu-bench.sh

clean:
	rm -rf bin
