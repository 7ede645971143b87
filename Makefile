# Timbre workbench. Quick start: `make demo`, then `make test`. Both set up what they need.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYPROJECT_HASH := $(shell sha1sum pyproject.toml | cut -c1-12)
STAMP := $(VENV)/.installed-$(PYPROJECT_HASH)
PYTEST_ARGS ?=

.PHONY: setup system venv test test-all demo dashboard bench lint clean

setup: system venv

system:
	@bash scripts/setup-system.sh

# The venv is rebuilt when pyproject.toml changes; it may live outside the clone (CI keeps one
# per pyproject hash), so the editable install is re-pointed at this checkout when needed.
venv: $(STAMP)
	@# -I: isolated, so the checkout in the working directory cannot answer for the installed one
	@$(PY) -I -c "import os, sys, workbench, cli; sys.exit(os.path.dirname(os.path.realpath(workbench.__file__)) != os.path.realpath('$(CURDIR)/workbench'))" 2>/dev/null \
	  || $(PY) -m pip install -q --no-deps --no-build-isolation -e .

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

test: setup
	$(PY) -m pytest -m "not slow" --durations=10 $(PYTEST_ARGS)

test-all: setup
	$(PY) -m pytest --durations=20 $(PYTEST_ARGS)

demo: setup
	$(VENV)/bin/workbench demo

dashboard: setup
	$(VENV)/bin/workbench dashboard

bench: setup
	$(PY) benchmarks/run.py

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf data/ runs/ reports/ .pytest_cache
