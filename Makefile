# slogate. `make help` lists the targets; `make test` is what CI runs.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO ?= go
BIN := $(CURDIR)/bin
CONTROLLER_GEN := $(BIN)/controller-gen
GOLANGCI_LINT := $(BIN)/golangci-lint

# e2e packages run one at a time (-p 1): each starts its own control plane, and the machines have 2 cores.
E2E_TIMEOUT ?= 60m
UNIT_TIMEOUT ?= 15m
# Extra flags for go test, e.g. make e2e TESTFLAGS='-run Rollout -v'.
TESTFLAGS ?=

# Which packages run; override to narrow, e.g. make e2e E2E_PKGS=./e2e/cluster/. The default list of unit
# packages is computed by the shell when the recipe runs, so that packages added since are picked up.
UNIT_PKGS ?= $$($(GO) list ./... | grep -v /e2e/)
E2E_PKGS ?= ./e2e/...
# Separate Go modules with tests of their own (test/promql keeps Prometheus' dependencies out of go.mod).
test_modules = $(patsubst %/go.mod,%,$(wildcard test/*/go.mod))

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN { FS = ":.*##"; printf "Usage: make <target>\n" } \
		/^[a-zA-Z0-9_-]+:.*?##/ { printf "  %-14s %s\n", $$1, $$2 } \
		/^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Build

.PHONY: build
build: ## Build every command under cmd/ into bin/.
	@mkdir -p $(BIN)
	@if [ -z "$(wildcard cmd/*/*.go)" ]; then echo "build: no commands under cmd/ yet"; else \
		echo "$(GO) build -o $(BIN)/ ./cmd/..."; $(GO) build -o $(BIN)/ ./cmd/...; fi

.PHONY: e2e-tools
e2e-tools: ## Build the local control plane (etcd, kube-*, kwok) and controller-gen into bin/; skipped when current.
	hack/tools/build.sh e2e

.PHONY: prometheus
prometheus: ## Install the Debian prometheus package when no prometheus is on PATH.
	hack/install-prometheus.sh

.PHONY: generate
generate: controller-gen ## Generate the API types' DeepCopy methods.
	$(CONTROLLER_GEN) object paths=./api/...

.PHONY: manifests
manifests: controller-gen ## Generate the CRDs into manifests/base/crds.
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:artifacts:config=manifests/base/crds

.PHONY: controller-gen
controller-gen: # bin/controller-gen at the version hack/tools/gen pins (a no-op when current).
	@hack/tools/build.sh controller-gen

##@ Test

.PHONY: test
test: build test-unit e2e ## Everything CI runs: build, unit tests, e2e tests.

.PHONY: test-unit
test-unit: ## Run the unit and integration tests (every package but e2e/, and the test modules).
	$(GO) test -count=1 -timeout $(UNIT_TIMEOUT) $(TESTFLAGS) $(UNIT_PKGS)
	@for m in $(test_modules); do echo "(cd $$m && $(GO) test -count=1 ./...)"; \
		(cd $$m && $(GO) test -count=1 -timeout $(UNIT_TIMEOUT) $(TESTFLAGS) ./...); done

.PHONY: e2e
e2e: e2e-tools build prometheus ## Run the e2e tests against local control planes, one package at a time.
	$(GO) test -p 1 -count=1 -timeout $(E2E_TIMEOUT) $(TESTFLAGS) $(E2E_PKGS)

.PHONY: lint
lint: golangci-lint ## Run golangci-lint (config: .golangci.yml).
	$(GOLANGCI_LINT) run ./...

.PHONY: golangci-lint
golangci-lint: # bin/golangci-lint at the version hack/tools/lint pins (a no-op when current).
	@hack/tools/build.sh lint

.PHONY: verify
verify: generate manifests ## Regenerate code and manifests and fail if the tree is not clean.
	@if [ -n "$$(git status --porcelain)" ]; then \
		echo "verify: the tree is dirty after make generate manifests (or has uncommitted changes):"; \
		git status --short; git --no-pager diff --stat; exit 1; fi

##@ Try it

$(if $(filter demo,$(MAKECMDGOALS)),$(info demo: building the local control plane, slogate and Prometheus first when needed (about 11 minutes the first time, seconds after that); then the demo takes about 2 minutes))
.PHONY: demo
demo: e2e-tools build prometheus ## Start a local cluster with slogate and walk through a canary release.
	@$(GO) build -o $(BIN)/demo ./hack/demo
	$(BIN)/demo $(DEMOFLAGS)

.PHONY: cluster
cluster: e2e-tools ## Start a bare local control plane (with slogate's CRDs) until Ctrl-C; prints its KUBECONFIG.
	$(GO) run ./e2e/cluster/cmd/localcluster

.PHONY: bench
bench: e2e-tools build prometheus ## Run the benchmarks (admission latency, release throughput).
	@if [ ! -d hack/bench ]; then echo "bench: hack/bench does not exist yet" >&2; exit 1; fi
	$(GO) run ./hack/bench

.PHONY: clean
clean: ## Remove slogate's own binaries from bin/ (the control-plane tools stay).
	@for c in $(notdir $(wildcard cmd/*)); do rm -f $(BIN)/$$c; done
