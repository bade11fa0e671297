# GridRounds (网格通). `make run` serves the demo; `make test` runs the whole suite (DESIGN.md §9).
# Every target is safe to re-run; the slow ones (venv, vendor, system-deps) do nothing when done.

SHELL := /bin/bash

VENV          := .venv
PY            := $(VENV)/bin/python
FLASK         := $(VENV)/bin/flask --app webapp
SYSTEM_PYTHON ?= $(shell command -v python3.11 || command -v python3)
PO_FILES      := $(wildcard translations/*/LC_MESSAGES/messages.po)
HOST          ?= 127.0.0.1
PORT          ?= 5000
PYTEST_ARGS   ?=

.PHONY: run test lint venv vendor translations db demo system-deps

# Push keys are made once; the push queue is drained by a thread of the dev server.
run: venv vendor translations db demo
	@test -f instance/vapid_private.pem || $(FLASK) push keys
	PUSH_SENDER_THREAD=1 $(FLASK) run --host $(HOST) --port $(PORT)

# pytest's own exit code is the target's: 5 (no tests collected) fails like any other.
test: venv vendor translations system-deps
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

venv: $(VENV)/.installed

# The stamp makes reinstalling depend on pyproject.toml alone, not on every run.
$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(SYSTEM_PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

# The vendored files are committed; only a missing or altered file needs the npm registry.
vendor:
	@$(SYSTEM_PYTHON) scripts/vendor.py --check >/dev/null 2>&1 || $(SYSTEM_PYTHON) scripts/vendor.py

translations: venv
ifneq ($(PO_FILES),)
	@$(VENV)/bin/pybabel --quiet compile -d translations -f
else
	@echo "translations: no catalog in translations/*/LC_MESSAGES yet, skipping"
endif

db: venv
	$(FLASK) db upgrade

# --if-empty makes this a no-op once the database holds a street, so `make run` keeps your data.
demo: db
	$(FLASK) demo-data --scale small --seed 1 --if-empty

system-deps:
	@bash scripts/install-system-deps.sh
