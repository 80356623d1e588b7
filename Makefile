# Quickstart: `make demo` and `make test` each set up .venv and run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TEST_EXTRAS ?= test,data,dask,gambit

.PHONY: demo test bench lint browser clean fuzz

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# The core package only: enough for the demo.
$(VENV)/.installed-core: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

# Everything the tests need (pygambit builds from source the first time: a few minutes).
$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[$(TEST_EXTRAS)]"
	touch $@ $(VENV)/.installed-core

# Headless Chromium (Debian's package) for the report test.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; the browser test will fail under CI"; \
	  else echo "note: chromium missing and not root; the browser test will be skipped outside CI"; fi; }

# The main job: personalization vs anonymity on the bundled examples and random aligned
# markets (quick grid), then the HTML report; prints a summary table and the report's path.
demo: $(VENV)/.installed-core
	$(VENV)/bin/pluralign reproduce personalization_vs_anonymity --quick --out runs/demo

test: $(VENV)/.installed-test browser
	$(PY) -m pytest

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .

bench: $(VENV)/.installed-test
	$(PY) benchmarks/alignment.py --quick
	$(PY) benchmarks/equilibria.py --quick

# 10,000 mutated market files in-process, 500 sweep configs and a command-line sample;
# prints counts per mutation class and outcome (about a minute on 2 cores).
fuzz: $(VENV)/.installed-core
	$(PY) -m pluralign.workflows.fuzz --cases 10000 --configs 500 --cli 300

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
