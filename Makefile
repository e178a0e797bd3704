# Two commands on a fresh machine: `make demo` and `make test`. Each builds .venv itself.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: demo test lint typecheck unit clean docs-cli browser kubectl promtool haproxy wrk h2load screenshots grpc-code

# uv resolves and downloads in parallel: a fresh dev install takes seconds instead of the
# three minutes pip needs for the same set. Unlike pip, uv writes no bytecode unless asked:
# without it (and with PYTHONDONTWRITEBYTECODE set, as on CI machines) every command
# compiles scikit-learn, pandas and SQLAlchemy from source again, a second or more each time.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv

INSTALL := $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(INSTALL) -e .
	$(BIN)/python -m compileall -q src >/dev/null
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(INSTALL) -e '.[dev]'
	$(BIN)/python -m compileall -q src >/dev/null
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/modelyard demo $(ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/lint-imports --no-cache

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy src

# Tests that start no process run on both cores; so do the slow ones (real servers) that
# judge no time, a module per worker; those that judge time, or load a core on purpose
# (marked serial), run one at a time after them.
unit: $(VENV)/.installed-dev
	$(BIN)/pytest -m "not slow" -n 2 $(ARGS) || [ $$? -eq 5 ]  # 5: ARGS chose none of them
	$(BIN)/pytest -m "slow and not serial" -n 2 --dist loadfile $(ARGS) || [ $$? -eq 5 ]
	$(BIN)/pytest -m serial $(ARGS) || [ $$? -eq 5 ]

# The console's browser tests drive Debian's Chromium; they skip, saying why, where it
# cannot be installed (not root, no apt).
browser:
	@command -v chromium >/dev/null 2>&1 || sh scripts/install-chromium.sh

# `kubectl kustomize` renders the overlays `modelyard deploy kubernetes` writes; the other
# validators (hadolint, kubernetes-validate, check-jsonschema) come with the dev extra.
kubectl:
	@sh scripts/install-kubectl.sh

# promtool checks and unit-tests the generated Prometheus rules: extracted from Debian's
# prometheus package into .tools/bin (no daemon); the tests skip, saying why, without apt.
promtool:
	@[ -x .tools/bin/promtool ] || command -v promtool >/dev/null 2>&1 || sh scripts/install-promtool.sh .tools/bin

# The fleet test puts Debian's HAProxy in front of its replicas; it skips, saying why, where
# HAProxy cannot be installed (not root, no apt).
haproxy:
	@sh scripts/install-apt-tool.sh haproxy haproxy "the fleet test's load balancer (it skips without)"

# The HTTP and gRPC load generators of bench/serve.py (not needed by the tests).
wrk:
	@sh scripts/install-apt-tool.sh wrk wrk "bench/serve.py's load"
h2load:
	@sh scripts/install-apt-tool.sh h2load nghttp2-client "bench/serve.py's gRPC load"

test: lint typecheck browser kubectl promtool haproxy unit

clean:
	rm -rf $(VENV) .modelyard .modelyard-demo .mypy_cache .ruff_cache .pytest_cache .tools

docs-cli: $(VENV)/.installed-dev
	$(BIN)/python -m typer modelyard.cli.app utils docs --name modelyard --output docs/cli.md

# The README's console pictures, taken by the end-to-end browser tests.
screenshots: $(VENV)/.installed-dev browser
	MODELYARD_SCREENSHOTS=docs/img $(BIN)/pytest tests/integration/test_console.py

# The v2 gRPC messages are generated from serving/grpc/oip.proto and committed (see
# docs/decisions.md); tests/serving/grpc/test_generated.py fails when they are stale.
GRPC_DIR := src/modelyard/serving/grpc
grpc-code: $(VENV)/.installed-dev
	$(BIN)/python -m grpc_tools.protoc -Isrc --python_out=src --pyi_out=src $(GRPC_DIR)/oip.proto
