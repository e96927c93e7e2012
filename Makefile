# Two commands: `make run` (set up and start everything) and `make test` (set up and run the suite).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed

.PHONY: run test lint setup migrate demo fmt bench clean screenshots

$(STAMP): pyproject.toml
	@if [ ! -x $(PY) ]; then \
		interp=$$(PYTHON="$(PYTHON)" scripts/find-python.sh) || exit 1; \
		echo "Creating $(VENV) with $$interp"; \
		"$$interp" -m venv $(VENV); \
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev,bench]'
	@touch $(STAMP)

setup: $(STAMP)

migrate: setup
	$(PY) manage.py migrate --no-input -v0

run: migrate
	@scripts/run.sh

# In parallel (pytest-xdist), a test file per worker process: files that share a Redis db or a port stay
# in one process. TEST_WORKERS=0 runs everything in this process. The schemathesis run is a second,
# serial step: its generated cases are not collected by xdist workers (they would silently not run).
TEST_WORKERS ?= 2
SERIAL_TESTS := tests/orders/api/test_schemathesis.py
test: setup
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --ignore=$(SERIAL_TESTS) $(PYTEST_ARGS)
	$(BIN)/pytest -p no:xdist $(SERIAL_TESTS)

# Refresh the README's screenshots (docs/screenshots/) from the browser tests.
screenshots: setup
	UPDATE_SCREENSHOTS=1 $(BIN)/pytest tests/e2e -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy config orders dashboard periodic
	$(BIN)/lint-imports
	$(PY) manage.py makemigrations --check --dry-run -v1

fmt: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Speed acceptance on PostgreSQL (drops and recreates the database `bench`; ~10 minutes): see bench/README.md.
bench: setup
	bash bench/seed_1m.sh
	$(PY) bench/explain_list.py
	$(PY) bench/export_rate.py
	$(PY) bench/export_dashboard.py
	$(PY) bench/compare.py

clean:
	rm -rf $(VENV) var
