# Quickstart: `make demo` and `make test` each set up .venv and run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS ?= test

.PHONY: demo test bench clean setup

$(VENV)/.installed-$(EXTRAS): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $@

setup: $(VENV)/.installed-$(EXTRAS)

demo: $(VENV)/.installed-$(EXTRAS)
	$(VENV)/bin/pluralign analyze prosecutor
	$(VENV)/bin/pluralign analyze match_mismatch

test: $(VENV)/.installed-$(EXTRAS)
	$(PY) -m pytest

bench: $(VENV)/.installed-$(EXTRAS)
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
