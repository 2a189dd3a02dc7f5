# The two commands of the quick start: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# The venv's interpreter: Python 3.12 or newer. PYTHON=/path/to/python picks one; otherwise an
# existing .venv on 3.12+ is kept, else the first of python3.12, python3.13 that runs, on PATH or
# in ~/.pyenv/versions. A .venv on another minor version than the chosen one is recreated.
PY_OK := import sys; sys.exit(sys.version_info < (3, 12))
PY_SEARCH := $(abspath $(VENV))/bin/python python3.12 python3.13 \
	$(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python $(HOME)/.pyenv/versions/3.13*/bin/python)
PYTHON ?= $(firstword $(foreach p,$(PY_SEARCH),$(shell "$(p)" -c '$(PY_OK)' 2>/dev/null && command -v "$(p)")))
PY_VERSION = import sys; print(*sys.version_info[:2], sep=".")
PY_MINOR := $(if $(PYTHON),$(shell "$(PYTHON)" -c '$(PY_VERSION)' 2>/dev/null))
# Python writes its bytecode caches (__pycache__/, ignored by git) even where the environment
# says not to: without them every test worker re-compiles and pytest re-rewrites every test
# module (about 4 s of CPU a process, issue 21).
unexport PYTHONDONTWRITEBYTECODE
# requirements.txt / requirements-dev.txt name the direct dependencies; the .lock files pin
# every transitive one with hashes (`make lock` writes them). Installs come from the lock.
LOCK := requirements-dev.lock
STAMP := $(VENV)/.installed-py$(PY_MINOR)-$(shell sha1sum < $(LOCK) | cut -c1-12)
UV_COMPILE := $(VENV)/bin/uv pip compile --quiet --universal --python-version 3.12 \
	--generate-hashes --custom-compile-command "make lock"

.PHONY: install lock run serve test coverage lint typecheck messages bench clean

$(STAMP): $(LOCK)
	@if [ -z "$(PYTHON)" ]; then \
	  echo "No Python 3.12 or newer found (looked for python3.12 and python3.13 on PATH and in" \
	    "~/.pyenv/versions). Install one, e.g. \`apt-get install python3.12-venv\` or" \
	    "\`pyenv install 3.12\`, or name it: make $(MAKECMDGOALS) PYTHON=/path/to/python3.12" >&2; \
	  exit 1; fi
	@"$(PYTHON)" -c '$(PY_OK)' || { echo "PYTHON=$(PYTHON) is $$("$(PYTHON)" -V 2>&1);" \
	  "the project needs Python 3.12 or newer" >&2; exit 1; }
	@if [ -x $(PY) ] && [ "$$($(PY) -c '$(PY_VERSION)')" != "$(PY_MINOR)" ]; then \
	  echo "$(VENV) is Python $$($(PY) -c '$(PY_VERSION)'), not $(PY_MINOR) ($(PYTHON)): recreating it"; \
	  rm -rf $(VENV); fi
	@test -x $(PY) || { echo "creating $(VENV) with $(PYTHON) (Python $(PY_MINOR))"; "$(PYTHON)" -m venv $(VENV); }
	@# pip installs only uv (its pin and hashes from the lock); uv installs the lock: on a loaded
	@# 2-core machine 19 s and 3 s of CPU instead of pip's 5 min and 34 s (issue 21).
	awk '/^uv==/{p=1;print;next} p&&/^ /{print;next} {p=0}' $(LOCK) > $(VENV)/uv-pin.txt
	$(VENV)/bin/pip install --quiet --require-hashes -r $(VENV)/uv-pin.txt
	$(VENV)/bin/uv pip install --quiet --python $(PY) --require-hashes -r $(LOCK)
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)
	@$(PY) scripts/check_lock.py

# Production's set first, then the tools on top of it, so both locks agree on every shared pin.
# Unchanged pins are kept; LOCK_ARGS=--upgrade (or --upgrade-package NAME) takes newer ones.
lock: $(STAMP)  ## re-pin every transitive dependency after editing requirements*.txt
	$(UV_COMPILE) $(LOCK_ARGS) requirements.txt -o requirements.lock
	$(UV_COMPILE) $(LOCK_ARGS) requirements-dev.txt -c requirements.lock -o requirements-dev.lock

run: install  ## set up on first use, then serve admin, worker, beat and the WeChat sandbox
	@bash scripts/run.sh

serve: install  ## the production stack on this host: gunicorn, worker, beat (see docs/operations.md)
	@bash scripts/serve.sh

# Tests use DATABASE_URL when set; otherwise the local PostgreSQL when one answers
# (a few concurrency tests need it), otherwise SQLite (those few are then skipped).
# They run in WORKERS processes (pytest-xdist; `auto`: one per core, each with its own test
# database and Redis database); WORKERS=0 runs them in this one (pdb, a single test).
LOCAL_PG := postgres://postgres@127.0.0.1:5432/wxadmin
WORKERS ?= auto
test: install  ## the whole suite, on every core
	@url="$${DATABASE_URL:-}"; \
	if [ -z "$$url" ] && $(PY) -c "import psycopg; psycopg.connect('$(LOCAL_PG)'.replace('/wxadmin', '/postgres'), connect_timeout=2).close()" 2>/dev/null; then \
	  url="$(LOCAL_PG)"; fi; \
	echo "tests on: $${url:-SQLite}, workers: $(WORKERS)"; \
	if [ -n "$$url" ]; then export DATABASE_URL="$$url"; fi; \
	$(PY) -m pytest -n $(WORKERS) --dist worksteal $(PYTEST_ARGS)

# The suite under coverage (CI runs this); fails below `fail_under` in pyproject.toml.
# COVERAGE_CORE=sysmon: Python 3.12's sys.monitoring, far cheaper than a trace function.
coverage:  ## the whole suite with a coverage report (a little slower than `make test`)
	@COVERAGE_CORE=sysmon $(MAKE) --no-print-directory test \
	  PYTEST_ARGS="--cov --cov-report=term:skip-covered $(PYTEST_ARGS)"

lint: install  ## ruff's rules and formatting, and the import-linter layers, as CI checks them
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: install  ## mypy over the project (settings in pyproject.toml)
	$(VENV)/bin/mypy

messages: install  ## refresh and compile the zh-hans catalogues
	$(PY) manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=bench --ignore=test-artifacts
	$(PY) manage.py compilemessages -l zh_Hans --ignore=.venv

clean:
	rm -rf $(VENV) staticfiles var/test-media .coverage .mypy_cache
