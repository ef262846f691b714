# Two commands for a new user: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Re-install when the dependency list changes.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000

# Models are never fetched implicitly: the demo checks the Hub itself.
export HF_HUB_DISABLE_TELEMETRY := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: help install demo test lint format bench clean

help:
	@echo "make demo   install, migrate, ingest + triage the sample emails, serve the dashboard"
	@echo "make test   install and run the whole suite (PostgreSQL + Redis when reachable)"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# CPU build of torch from the pinned version; a GPU host installs the CUDA
	# build of the same version first (README), and pip keeps it.
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[worker,dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo
	@echo "Serving the dashboard on http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	$(PY) manage.py runserver $(HOST):$(PORT) --noreload

# PostgreSQL and Redis are used when they answer on their usual ports; the tests
# then create their own database and use a private Celery key prefix in Redis db 9.
test: install
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	set -e; \
	if [ -z "$${DATABASE_URL:-}" ] && (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then \
	  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage; fi; \
	if [ -z "$${CELERY_BROKER_URL:-}" ] && (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then \
	  export CELERY_BROKER_URL=redis://127.0.0.1:6379/9; fi; \
	export CELERY_KEY_PREFIX="triage-test-$$$$:"; \
	echo "DATABASE_URL=$${DATABASE_URL:-(sqlite)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-(eager)}"; \
	HF_HUB_OFFLINE=1 $(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf var/static .pytest_cache .ruff_cache
