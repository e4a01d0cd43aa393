# Rampart: one entry point for running, testing and generating.
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PY := $(UV) run --frozen
PROTO_OUT := lib/src
PROTO_FILES := $(shell find protos -name '*.proto' | sort)
PROTO_PKGS := common auth scan threat ai report

.PHONY: help setup setup-test protos proto-release check-protos lint typecheck test test-unit test-service test-integration fuzz run bench clean

help:
	@echo "make proto-release    record today's contracts as the baseline for the breaking-change check"
	@echo "make setup            install system packages (root) and the Python workspace"
	@echo "make bench            gateway, engine and scan-path benchmarks (installs wrk, nmap)"
	@echo "make run              start store, broker, five services and the gateway"
	@echo "make test             lint, type-check, unit and integration tests"
	@echo "make fuzz             schema-driven fuzzing of every operation (FUZZ_EXAMPLES per operation, default 100)"
	@echo "make protos           regenerate gRPC code from protos/"
	@echo "make check-protos     fail if regenerating changes anything"

setup:
	@bash scripts/setup.sh

setup-test:
	@bash scripts/setup.sh --test

protos:
	$(PY) python -m grpc_tools.protoc -I protos \
		--python_out=$(PROTO_OUT) --grpc_python_out=$(PROTO_OUT) \
		--mypy_out=$(PROTO_OUT) $(PROTO_FILES)
	@for p in $(PROTO_PKGS); do touch $(PROTO_OUT)/rampart/$$p/__init__.py $(PROTO_OUT)/rampart/$$p/v1/__init__.py; done

proto-release: setup-test
	$(BUF) build protos --exclude-source-info -o protos/releases/current.json

GENERATED := $(addprefix $(PROTO_OUT)/rampart/,$(PROTO_PKGS))

BUF := .tools/node_modules/.bin/buf

check-protos: setup-test protos
	$(BUF) lint protos
	$(BUF) breaking protos --against protos/releases/current.json
	@git diff --exit-code --stat -- $(GENERATED) || { echo "generated code is stale: run 'make protos' and commit"; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- $(GENERATED))" || { git status --short -- $(GENERATED); echo "generated files are not committed"; exit 1; }

lint:
	$(PY) ruff check .
	$(PY) ruff format --check .

typecheck:
	$(PY) mypy

test-unit:
	$(PY) pytest -m "not integration and not service"

test-service:
	$(PY) pytest -m service

test-integration:
	$(PY) pytest -m integration tests/integration

fuzz:
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-100} $(PY) pytest tests/integration/test_fuzz.py

# The unit and service tiers in two pytest workers, then the integration tier alone (its scans
# of 127.0.0.1 must not meet the listeners other tests open meanwhile).
TEST_WORKERS ?= 2

test: check-protos lint typecheck
	$(PY) pytest -n $(TEST_WORKERS) -m "not integration"
	$(PY) pytest -m integration

run: setup
	$(PY) python -m rampart_devtools

bench: setup
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = "0" ] && apt-get install -y -qq wrk >/dev/null; } \
		|| { echo "wrk is missing: apt-get install wrk"; exit 1; }
	@command -v nmap >/dev/null 2>&1 || { [ "$$(id -u)" = "0" ] && apt-get install -y -qq nmap >/dev/null; } || true
	$(PY) python bench/gateway_bench.py
	$(PY) python bench/engine_bench.py
	$(PY) python bench/engine_scale_bench.py
	$(PY) python bench/engine_cpu_bench.py
	$(PY) python bench/scan_bench.py
	$(PY) python bench/matcher_bench.py
	$(PY) python bench/findings_source_bench.py
	$(PY) python bench/intel_bench.py
	$(PY) python bench/analysis_bench.py
	$(PY) python bench/assistant_bench.py
	$(PY) python bench/detection_bench.py
	$(PY) python bench/facts_bench.py
	$(PY) python bench/feeds_bench.py
	$(PY) python bench/shards_bench.py
	$(PY) python bench/ledger_bench.py
	$(PY) python bench/findings_bench.py
	$(PY) python bench/findings_e2e_bench.py
	$(PY) python bench/assets_bench.py
	$(PY) python bench/webhooks_bench.py
	$(PY) python bench/exports_bench.py
	$(PY) python bench/compliance_bench.py
	$(PY) python bench/diff_bench.py
	$(PY) python bench/schedule_bench.py
	$(PY) python bench/alerts_bench.py

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
