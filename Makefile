# Two entry points: `make run` (the daemon, `fleet serve`, on the embedded SQLite
# database) and `make test` (every check CI runs).
#
# Every package comes from uv.lock, which pins each one, direct and transitive, with
# its hashes. uv itself is pinned below and installed into .tools on first use; the
# project's environment is .venv. `make run` installs what the daemon needs and
# nothing else, and leaves every other package where it is (`--inexact`: the test
# tools stay, even under a running `make test`); `make test` adds the test tools
# and the benchmark's peers. Both refuse a lock that no longer matches
# pyproject.toml (`make lock` mends it).

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
BIN := .venv/bin

# uv uses the Python it is given (never one it downloads) and keeps the environment
# in .venv.
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv

SYNC := $(UV) sync --locked --quiet
TEST_WORKERS ?= 2

.PHONY: run test test-env lint typecheck pytest pytest-compiled compile clean-compiled \
	bench mutation lock upgrade clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --only-binary=:all: uv==$(UV_VERSION)

run: $(UV)
	$(SYNC) --no-dev --inexact
	$(BIN)/python -m fleet.compiled check
	$(BIN)/fleet serve $(SERVE_ARGS)

# Lint, types, the suite on the pure-Python modules, then the actor and store
# tests again on the modules mypyc compiles (fleet/compiled.py); the tree is left
# pure, as it was found.
test: lint typecheck pytest pytest-compiled

# The test tools and the benchmark harness's peers; `make test` syncs once.
test-env: $(UV)
	$(SYNC) --extra bench

lint: test-env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: test-env
	$(BIN)/mypy fleet actors examples

pytest: test-env
	$(BIN)/python -m fleet.compiled clean
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal --cov --cov-report=term $(PYTEST_ARGS)

# The tests of what the compiled modules do (the multi-process tests, the
# slowest, run in the pure stage only).
COMPILED_TESTS ?= tests/actors tests/store tests/test_compiled.py \
	--deselect tests/store/test_processes.py

pytest-compiled: compile
	FLEET_TEST_COMPILED=1 $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal \
		$(COMPILED_TESTS); status=$$?; $(BIN)/python -m fleet.compiled clean; exit $$status

# The append path compiled with mypyc, beside its sources (fleet/compiled.py);
# `make clean-compiled` goes back to pure Python.
compile: test-env
	$(BIN)/python -m fleet.compiled build

clean-compiled:
	$(PYTHON) -m fleet.compiled clean

bench: test-env
	$(BIN)/python -m bench $(BENCH_ARGS)

# Mutation testing of the modules that carry promises ([tool.mutmut] in
# pyproject.toml); not part of `make test`: hours on two cores. MUTANTS narrows
# the run, e.g. MUTANTS='fleet.store.writer*'.
mutation: $(UV)
	$(SYNC) --extra bench --group mutation
	$(BIN)/mutmut run $(MUTANTS)
	$(BIN)/mutmut results

# uv.lock after a change to pyproject.toml's dependencies (nothing else moves).
lock: $(UV)
	$(UV) lock

# Every package to its newest release that pyproject.toml allows; run `make test`
# and commit uv.lock after.
upgrade: $(UV)
	$(UV) lock --upgrade

clean: clean-compiled
	rm -rf .venv $(TOOLS) .fleet .coverage mutants build
