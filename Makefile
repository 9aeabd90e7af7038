# The one front door. `make up` runs the whole stack in Docker; `make test` runs every test.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# Compose v2 (the docker plugin): `up --wait` waits for the health checks.
COMPOSE ?= docker compose
PYTEST := $(BIN)/python -m pytest
export PCN_ADMIN_KEY ?=

# Empty: every service of services/registry.py that exists; or e.g. SERVICES=projects.
SERVICES ?=

.PHONY: install up down demo dev test prepare-tests test-shifted-clock test-unit test-integration test-deploy bench docs web-assets

# The web service's front end and its browser tests: NHS.UK frontend and axe-core from the npm
# registry with the lock file, and the local OpenID provider in its own virtualenv (it needs
# Flask >= 3.1, which nameko's Werkzeug 3.0.6 pin rules out).
OIDC_VENV ?= .venv-oidc
$(OIDC_VENV)/.installed: tools/oidc_provider/requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is missing: install Python 3.11"; exit 2; }
	$(PYTHON) -m venv $(OIDC_VENV)
	$(OIDC_VENV)/bin/pip install --quiet -r tools/oidc_provider/requirements.txt
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node 20 and npm (apt-get install nodejs npm)"; exit 2; }
	npm ci --no-audit --no-fund

web-assets: node_modules/.package-lock.json $(OIDC_VENV)/.installed  ## NHS.UK frontend, axe-core and the local OpenID provider

$(BIN)/nameko: pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is missing: install Python 3.11 (apt-get install python3.11 python3.11-venv, or pyenv install 3.11)"; exit 2; }
	@echo "make: building $(VENV) from constraints.txt"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

install: $(BIN)/nameko  ## a virtualenv with every pinned dependency

up: $(BIN)/nameko  ## the whole stack in Docker (RabbitMQ, MongoDB, services, OpenID provider, Prometheus), then the demo
	@test -n "$(PCN_ADMIN_KEY)" || { echo "set PCN_ADMIN_KEY (16+ characters), e.g. export PCN_ADMIN_KEY=\$$(openssl rand -hex 24)"; exit 2; }
	@docker info >/dev/null 2>&1 && $(COMPOSE) version >/dev/null 2>&1 || { echo "no Docker engine with the compose plugin here: install Docker and docker-compose-plugin, or run \`make demo\` (no Docker needed)"; exit 2; }
	$(COMPOSE) up --build --detach --wait
	$(BIN)/python -m tools.demo --web http://127.0.0.1:8005

down:
	$(COMPOSE) down

demo: $(BIN)/nameko web-assets  ## the main job; starts the services as local processes when none answer
	$(BIN)/python -m tools.demo

dev: $(BIN)/nameko web-assets  ## every service as a local process on the local RabbitMQ (no Docker)
	@test -n "$(PCN_ADMIN_KEY)" || { echo "set PCN_ADMIN_KEY (16+ characters), e.g. export PCN_ADMIN_KEY=\$$(openssl rand -hex 24)"; exit 2; }
	MONGO_URI=$${MONGO_URI:-mongomock://dev} $(BIN)/python -m tools.dev $(SERVICES)

test: $(BIN)/nameko prepare-tests web-assets  ## the whole suite, then the unit suite under shifted clocks
	$(PYTEST) tests
	$(BIN)/python -m tools.shifted_clock

prepare-tests: $(BIN)/nameko  ## RabbitMQ running with its plugins, promtool and docker-compose (idempotent)
	$(BIN)/python -m tools.prepare_tests

test-shifted-clock: $(BIN)/nameko prepare-tests  ## the unit suite under shifted clocks (faketime)
	$(BIN)/python -m tools.shifted_clock

test-unit: $(BIN)/nameko
	$(PYTEST) tests/unit

test-integration: $(BIN)/nameko prepare-tests web-assets
	$(PYTEST) tests/integration

test-deploy: $(BIN)/nameko prepare-tests
	$(PYTEST) tests/deploy

bench: $(BIN)/nameko  ## throughput figures (see bench/)
	$(BIN)/python bench/outbox.py

docs: $(BIN)/nameko  ## regenerate docs/events.md and docs/asyncapi.yaml from the event catalogue
	$(BIN)/python -m tools.event_docs
