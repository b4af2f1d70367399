# The first target run on a fresh clone creates .venv, installs sitegen with its dev
# extras and runs `npm ci`; nothing else needs installing by hand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SITEGEN := $(VENV)/bin/sitegen
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup site demo demo-data serve test lint bench bench-build bench-logs bench-serve bench-chart bench-hugo clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --omit=optional --no-audit --no-fund
	touch $@

site: setup  ## build reports/ into public/
	$(SITEGEN) build

demo-data: demo/reports/.made  ## generate the bundled sample nights into demo/reports

# Regenerated only when the generator or the report wing changed, so a second `make demo` starts at once.
demo/reports/.made: $(VENV)/.installed node_modules/.installed examples/make_demo.py examples/make_night.py $(shell find sitegen/nightly -name '*.py')
	$(PY) examples/make_demo.py --out demo/reports
	touch $@

demo: demo-data  ## build and serve a site from generated sample nights
	$(SITEGEN) serve --reports demo/reports --output demo/public --host $(HOST) --port $(PORT)

serve: setup  ## build, watch and serve reports/ with live reload
	$(SITEGEN) serve --host $(HOST) --port $(PORT)

test: setup  ## the whole test suite (installs missing Debian packages when run as root)
	scripts/system-deps
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check sitegen tests bench examples
	$(VENV)/bin/lint-imports

bench: bench-build bench-logs bench-serve bench-chart bench-hugo

bench-build: setup
	$(PY) bench/bench_build.py

bench-logs: setup
	$(PY) bench/bench_logs.py

bench-serve: setup
	$(PY) bench/bench_serve.py

bench-chart: setup
	$(PY) bench/bench_chart.py

bench-hugo: setup  ## sitegen against Debian's hugo on 10,000 reports (skips without hugo)
	$(PY) bench/bench_hugo.py

clean:
	rm -rf public demo .sitegen-cache .pytest_cache
