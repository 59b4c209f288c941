# shadowtrace: `make demo` runs the main job on a generated scenario, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean setup

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/shadowtrace simulate --out $(DEMO_DIR)/scenario --vessels 120 --days 3 --seed 7 --format nmea
	$(BIN)/shadowtrace ingest $(DEMO_DIR)/scenario --db $(DEMO_DIR)/shadowtrace.duckdb

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(DEMO_DIR) .pytest_cache test-output
