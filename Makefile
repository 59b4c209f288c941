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
	rm -rf $(DEMO_DIR)
	$(BIN)/shadowtrace simulate --out $(DEMO_DIR)/scenario --vessels 120 --days 3 --seed 7 --format nmea
	$(BIN)/shadowtrace run $(DEMO_DIR)/scenario/sim.nmea --db $(DEMO_DIR)/shadowtrace.duckdb
	$(BIN)/shadowtrace evaluate --truth $(DEMO_DIR)/scenario/truth.json --db $(DEMO_DIR)/shadowtrace.duckdb --show 0
	$(BIN)/shadowtrace events --db $(DEMO_DIR)/shadowtrace.duckdb --format csv --out $(DEMO_DIR)/events.csv
	$(BIN)/shadowtrace lists add $(DEMO_DIR)/scenario/lists/watchlist.ftm.json --name demo-watchlist --db $(DEMO_DIR)/shadowtrace.duckdb
	$(BIN)/shadowtrace lists add --builtin eu-annex-xlii --db $(DEMO_DIR)/shadowtrace.duckdb
	$(BIN)/shadowtrace screen --db $(DEMO_DIR)/shadowtrace.duckdb --top 0
	$(BIN)/shadowtrace vessels --db $(DEMO_DIR)/shadowtrace.duckdb --top 15
	$(BIN)/shadowtrace report --rank 1 --db $(DEMO_DIR)/shadowtrace.duckdb --out $(DEMO_DIR)/dossier.html
	@echo "events: $(DEMO_DIR)/events.csv; evidence dossier of the top vessel: $(DEMO_DIR)/dossier.html"

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/detect.py
	$(BIN)/python bench/screen.py

clean:
	rm -rf $(DEMO_DIR) .pytest_cache test-output
