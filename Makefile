# Virtual Office: the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-unit test-e2e bench schema-check faults lint check screenshots venv dev-venv migrate seed clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed
dev-venv: $(VENV)/.dev-installed

# Debug on and this address trusted for CSRF unless the environment says otherwise; SQLite and the
# in-memory channel layer unless DATABASE_URL / REDIS_URL are set.
RUN_ENV = DJANGO_DEBUG=$${DJANGO_DEBUG:-1} CSRF_TRUSTED_ORIGINS=$${CSRF_TRUSTED_ORIGINS:-http://$(HOST):$(PORT),http://localhost:$(PORT)}

run: venv
	@echo "Database: $${DATABASE_URL:+DATABASE_URL}$${DATABASE_URL:-SQLite (db.sqlite3)}; channel layer: $${REDIS_URL:+Redis (REDIS_URL)}$${REDIS_URL:-in-memory (one process)}"
	@$(RUN_ENV) $(PY) manage.py migrate --noinput -v 0
	@$(RUN_ENV) $(PY) manage.py seed_demo --print-logins
	@echo ""
	@echo "Virtual Office on http://$(HOST):$(PORT)/  (API docs: http://$(HOST):$(PORT)/api/docs/; Ctrl-C to stop)"
	@$(RUN_ENV) exec $(VENV)/bin/daphne -b $(HOST) -p $(PORT) virtual_office.asgi:application

# The suite runs without psycopg's connection pool (DATABASE_POOL=0): every async test has its own
# event loop and worker threads, and connections checked out by threads of a finished test's loop
# were seen to exhaust the pool of the test process (production's threads live as long as the
# process). Server processes started by tests inherit it.
TEST_ENV = DATABASE_POOL=$${DATABASE_POOL:-0}

# The unit tests run on UNIT_WORKERS processes (pytest-xdist, a test file per worker at a time; each
# worker has its own test database and Redis prefix, tests/conftest.py); the browser tests in one.
UNIT_WORKERS ?= 2
UNIT_PARALLEL = $(if $(filter-out 0 1,$(UNIT_WORKERS)),-n $(UNIT_WORKERS) --dist loadfile)

test: dev-venv
	@eval "$$($(PY) scripts/services.py)" && export $(TEST_ENV) && \
	  CHANNEL_PREFIX=vo-test $(PY) -m pytest -m "not e2e" $(UNIT_PARALLEL) $(PYTEST_ARGS) && \
	  CHANNEL_PREFIX=vo-test DJANGO_ALLOW_ASYNC_UNSAFE=true $(PY) -m pytest -m e2e $(PYTEST_ARGS); \
	  status=$$?; [ $$status -eq 5 ] && status=0; exit $$status

test-unit: dev-venv
	@eval "$$($(PY) scripts/services.py)" && export $(TEST_ENV) && CHANNEL_PREFIX=vo-test $(PY) -m pytest -m "not e2e" $(UNIT_PARALLEL) $(PYTEST_ARGS)

test-e2e: dev-venv
	@eval "$$($(PY) scripts/services.py)" && export $(TEST_ENV) && CHANNEL_PREFIX=vo-test DJANGO_ALLOW_ASYNC_UNSAFE=true $(PY) -m pytest -m e2e $(PYTEST_ARGS)

# The README's pictures, from the real page with seeded data (a laptop, a phone, dark mode, a call):
# they replace docs/office-*.png.
screenshots: dev-venv
	@eval "$$($(PY) scripts/services.py)" && export $(TEST_ENV) && CHANNEL_PREFIX=vo-test DJANGO_ALLOW_ASYNC_UNSAFE=true \
	  UPDATE_SCREENSHOTS=1 $(PY) -m pytest -m e2e -q tests/e2e/test_screenshots.py $(PYTEST_ARGS)

bench: dev-venv
	@eval "$$(REQUIRE_SERVICES=1 $(PY) scripts/services.py)" && $(PY) bench/run.py

# Two uvicorn workers behind a private nginx, a private Redis and a fresh database on the PostgreSQL of
# DATABASE_URL; one PASS/FAIL line per check (faults/README.md). ONLY=storm,ghosts runs some alone.
# The whole run (no ONLY) ends with the API fuzz of `make schema-check`; both must pass.
faults: dev-venv
	@command -v nginx >/dev/null 2>&1 || { echo "make faults needs nginx: apt-get install -y nginx"; exit 1; }
	@eval "$$($(PY) scripts/services.py)" && $(PY) faults/run.py $(if $(ONLY),--only $(ONLY)) \
	  $(if $(ONLY),,&& $(PY) scripts/schemathesis_run.py $(SCHEMA_CHECK_ARGS))

# Fuzz the REST API against its own OpenAPI schema (schemathesis): a fresh database, a private uvicorn on
# a spare port, a bounded run (about 3 minutes); fails on any server error, undocumented status or body.
schema-check: dev-venv
	@$(PY) scripts/schemathesis_run.py $(SCHEMA_CHECK_ARGS)

lint: dev-venv
	$(VENV)/bin/ruff check .

# The static checks: lint, the import layers (the core imports no app; each app only those below it,
# pyproject.toml [tool.importlinter]), the types (mypy with the Django and DRF plugins over the
# project's code, pyproject.toml [tool.mypy]) and the page's JavaScript unit tests (node's own runner).
check: dev-venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	node --test tests/js/

clean:
	rm -rf $(VENV) db.sqlite3 test-db.sqlite3 staticfiles
