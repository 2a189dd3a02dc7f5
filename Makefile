# The two commands of the quick start: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: install run serve test lint messages bench clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

run: install  ## set up on first use, then serve admin, worker, beat and the WeChat sandbox
	@bash scripts/run.sh

serve: install  ## the production stack on this host: gunicorn, worker, beat (see DEPLOY.md)
	@bash scripts/serve.sh

# Tests use DATABASE_URL when set; otherwise the local PostgreSQL when one answers
# (a few concurrency tests need it), otherwise SQLite (those few are then skipped).
LOCAL_PG := postgres://postgres@127.0.0.1:5432/wxadmin
test: install  ## the whole suite
	@url="$${DATABASE_URL:-}"; \
	if [ -z "$$url" ] && $(PY) -c "import psycopg; psycopg.connect('$(LOCAL_PG)'.replace('/wxadmin', '/postgres'), connect_timeout=2).close()" 2>/dev/null; then \
	  url="$(LOCAL_PG)"; fi; \
	echo "tests on: $${url:-SQLite}"; \
	if [ -n "$$url" ]; then export DATABASE_URL="$$url"; fi; \
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

messages: install  ## refresh and compile the zh-hans catalogues
	$(PY) manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=bench --ignore=test-artifacts
	$(PY) manage.py compilemessages -l zh_Hans --ignore=.venv

clean:
	rm -rf $(VENV) staticfiles var/test-media
