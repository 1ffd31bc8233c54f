# The two commands of the README: `make up` and `make test`.
# Each creates .venv with everything the project needs, then runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: up test test-unit test-fast lint bench clean images

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,whisper]'
	touch $(STAMP)

up: $(STAMP)
	$(BIN)/cockpit up

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# Tests mostly wait on subprocesses and sockets, so workers overlap well even on 2 cores.
JOBS ?= 3
test: $(STAMP) lint
	$(BIN)/pytest -n $(JOBS) --dist loadgroup $(PYTEST_ARGS)

# Tiers (tests/conftest.py marks each test): unit in seconds, unit + integration in a few
# minutes; `make test` runs all three, flows included.
test-unit: $(STAMP)
	$(BIN)/pytest -n $(JOBS) -m unit $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/pytest -n $(JOBS) --dist loadgroup -m "not flow and not images" $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .cockpit .pytest_cache .mypy_cache .ruff_cache

# cockpit-relay:latest and cockpit-host:latest, with Docker or Podman (deploy/images.sh).
images:
	bash deploy/images.sh
