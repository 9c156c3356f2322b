# Atelier: `make run` starts web + worker on the embedded default; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run worker test lint format bench clean lock

# Installs exactly what requirements-test.lock pins (versions and hashes), then Atelier itself
# without resolving anything again: a new release of a dependency cannot change a fresh install.
$(STAMP): requirements-test.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements-test.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@$(BIN)/pip check >/dev/null || { $(BIN)/pip check; \
		echo "The lock files miss what pyproject.toml asks for: run 'make lock'."; exit 1; }
	touch $(STAMP)

install: $(STAMP)

# Re-pin after changing dependencies in pyproject.toml: requirements.lock (what production
# and the Dockerfile install) and requirements-test.lock (plus the test extra), with hashes.
PIP_COMPILE = $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet 'pip-tools>=7.4'
	$(PIP_COMPILE) --output-file requirements.lock pyproject.toml
	$(PIP_COMPILE) --extra test --output-file requirements-test.lock pyproject.toml

# Test-only JavaScript (axe-core for the browser tests), pinned in package-lock.json.
NODE_STAMP := node_modules/.installed-stamp
$(NODE_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

run: install
	bash scripts/run-dev.sh

test: install $(NODE_STAMP)
	bash scripts/ensure-services.sh
	$(BIN)/ruff check .
	$(BIN)/mypy config jobs gallery teams moderation notifications ops api webhooks accounts openai_api catalogue
	DATABASE_URL=sqlite:///:memory: $(BIN)/python manage.py makemigrations --check --dry-run \
		--settings=tests.settings > /dev/null
	$(BIN)/python scripts/check-translations.py
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy config jobs gallery teams moderation notifications ops api webhooks accounts openai_api catalogue

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache node_modules
