# ShopReel: one command per habit. Every target does its own set-up, idempotently.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test lint typecheck format bench install migrate seed clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/shopreel db upgrade

## run: venv, install, migrations, demo data (first time), server with demo logins printed
run: install
	$(BIN)/shopreel demo --host $(HOST) --port $(PORT)

## seed: rebuild the demo world
seed: install
	$(BIN)/shopreel demo seed --reset

## lint: ruff lint and format check
lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: install
	$(BIN)/mypy

format: install
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

## test: lint + types + the whole suite (PostgreSQL/Redis when SHOPREEL_TEST_* are set)
test: lint typecheck
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## bench: the benchmarks, each printing JSON (flash-sale needs SHOPREEL_BENCH_POSTGRES_URL)
bench: install
	$(BIN)/shopreel bench http
	$(BIN)/shopreel bench import --products 10000
	@if [ -n "$(SHOPREEL_BENCH_POSTGRES_URL)" ]; then \
		$(BIN)/shopreel bench flash-sale --database-url "$(SHOPREEL_BENCH_POSTGRES_URL)"; \
	else \
		echo "bench flash-sale skipped: set SHOPREEL_BENCH_POSTGRES_URL=postgresql://… (a server where it may create and drop databases)"; \
	fi

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
