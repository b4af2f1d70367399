# The first target run on a fresh clone creates .venv, installs the locked Python dependencies
# (requirements-dev.lock, hash-checked), runs `npm ci` and vendors pdf.js into the package;
# nothing else needs installing by hand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SITEGEN := $(VENV)/bin/sitegen
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup lock wheel site demo demo-data serve test fuzz lint bench bench-build bench-extract bench-one-new bench-logs bench-serve bench-chart bench-hugo clean

PDFJS_STAMP := sitegen/vendor/pdfjs/pdfjs-dist.json

setup: $(VENV)/.installed $(PDFJS_STAMP)

# The lock pins every package with its hashes, the build backend included, so the editable
# install needs no index and no build isolation. `make lock` refreshes it from pyproject's ranges.
$(VENV)/.installed: pyproject.toml requirements-dev.lock $(PDFJS_STAMP)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r requirements-dev.lock
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --omit=optional --no-audit --no-fund
	touch $@

# The wheel and the editable install read pdf.js from inside the package (see scripts/vendor_pdfjs.py).
$(PDFJS_STAMP): node_modules/.installed scripts/vendor_pdfjs.py
	$(PYTHON) scripts/vendor_pdfjs.py
	touch $@

LOCK_FLAGS := --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host
lock: $(VENV)/.installed  ## re-pin requirements*.lock from pyproject.toml's ranges
	$(PY) -m pip install -q pip-tools
	$(VENV)/bin/pip-compile -q $(LOCK_FLAGS) --upgrade -o requirements.lock pyproject.toml
	$(VENV)/bin/pip-compile -q $(LOCK_FLAGS) --upgrade --extra dev -o requirements-dev.lock pyproject.toml

wheel: $(PDFJS_STAMP)  ## build the sdist and wheel into dist/ (pdf.js inside; users need no Node)
	$(PY) -m build --outdir dist .

site: setup  ## build reports/ into public/
	$(SITEGEN) build

demo-data: demo/reports/.made  ## generate the bundled sample nights into demo/reports

# Regenerated only when the generator or the report wing changed, so a second `make demo` starts at once.
# system-deps --demo installs the report fonts as root, else names them; the demo runs either way.
demo/reports/.made: $(VENV)/.installed examples/make_demo.py examples/make_night.py $(shell find sitegen/nightly -name '*.py')
	scripts/system-deps --demo
	$(PY) examples/make_demo.py --out demo/reports
	touch $@

demo: demo-data  ## build and serve a site from generated sample nights
	$(SITEGEN) serve --reports demo/reports --output demo/public --host $(HOST) --port $(PORT)

serve: setup  ## build, watch and serve reports/ with live reload
	$(SITEGEN) serve --host $(HOST) --port $(PORT)

test: setup  ## the whole test suite (installs missing Debian packages when run as root)
	scripts/system-deps
	$(PY) -m pytest -q

# `make test` runs each fuzzer briefly and the hostile corpus in forked children; this runs 10,000
# examples per fuzzer and every corpus case again as its own process under `ulimit -v`.
fuzz: setup  ## hypothesis fuzzers at 10,000 examples each, and the hostile corpus one process per case
	SITEGEN_FUZZ=1 $(PY) -m pytest -q tests/fuzz tests/hostile

lint: setup
	$(VENV)/bin/ruff check sitegen tests bench examples scripts setup.py
	$(VENV)/bin/lint-imports

bench: bench-build bench-extract bench-one-new bench-logs bench-serve bench-chart bench-hugo

bench-build: setup
	$(PY) bench/bench_build.py

bench-extract: setup
	$(PY) bench/bench_extract.py

bench-one-new: setup  ## where a one-new-report build at 10,000 spends its time
	$(PY) bench/bench_one_new.py

bench-logs: setup
	$(PY) bench/bench_logs.py

bench-serve: setup
	$(PY) bench/bench_serve.py

bench-chart: setup
	$(PY) bench/bench_chart.py

bench-hugo: setup  ## sitegen against Debian's hugo on 10,000 reports (skips without hugo)
	$(PY) bench/bench_hugo.py

clean:
	rm -rf public demo dist .sitegen-cache .pytest_cache
