# shadowtrace: `make demo` runs the main job on a generated scenario, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean setup vendor serve

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
	@echo "open the workbench: make serve  (http://127.0.0.1:8000)"

# The web workbench and read-only API over the demo store (127.0.0.1 only; see docs/api.md).
serve: $(STAMP)
	$(BIN)/shadowtrace serve --db $(DEMO_DIR)/shadowtrace.duckdb

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/detect.py
	$(BIN)/python bench/screen.py
	$(BIN)/python bench/web.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/live.py

# Re-fetch the vendored MapLibre GL JS (ES module build, worker, CSS, licence) and Swagger UI from
# npm into the web page's static folder; the files are committed, so this runs only on an upgrade.
MAPLIBRE_VERSION ?= 6.17.0
SWAGGER_UI_VERSION ?= 5.35.0
VENDOR_DIR := src/shadowtrace/web/static/vendor
vendor:
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent maplibre-gl@$(MAPLIBRE_VERSION) && tar xzf maplibre-gl-$(MAPLIBRE_VERSION).tgz && cd $(CURDIR) && \
	cp $$tmp/package/dist/maplibre-gl.mjs $$tmp/package/dist/maplibre-gl-worker.mjs $$tmp/package/dist/maplibre-gl.css $$tmp/package/LICENSE.txt $(VENDOR_DIR)/ && \
	rm -rf $$tmp && sha256sum $(VENDOR_DIR)/*.mjs $(VENDOR_DIR)/*.css $(VENDOR_DIR)/LICENSE.txt
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent swagger-ui-dist@$(SWAGGER_UI_VERSION) && tar xzf swagger-ui-dist-$(SWAGGER_UI_VERSION).tgz && cd $(CURDIR) && \
	cp $$tmp/package/swagger-ui-bundle.js $$tmp/package/swagger-ui.css $$tmp/package/LICENSE $$tmp/package/NOTICE $$tmp/package/swagger-ui-bundle.js.LICENSE.txt $$tmp/package/favicon-32x32.png $(VENDOR_DIR)/swagger-ui/ && \
	sed -i 's|//# sourceMappingURL=.*||' $(VENDOR_DIR)/swagger-ui/swagger-ui-bundle.js && sed -i 's|/\*# sourceMappingURL=[^*]*\*/||' $(VENDOR_DIR)/swagger-ui/swagger-ui.css && \
	rm -rf $$tmp

clean:
	rm -rf $(DEMO_DIR) .pytest_cache test-output
