# faceid-fn developer commands. `make run` and `make test` are the two a newcomer needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export SLS_TELEMETRY_DISABLED := 1
export SLS_NOTIFICATIONS_MODE := off

.PHONY: setup sdk-models browser openapi package run sweep test lint typecheck unit integration e2e fuzz fmt lock clean

setup: $(VENV)/.installed $(VENV)/sdk/.downloaded node_modules/.installed browser ## install Python (venv), npm and browser dependencies

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	touch $@

sdk-models: $(VENV)/sdk/.downloaded ## the pinned official SDK wheel whose models tests/contract checks against

# Downloaded, not installed: it ships its own tencentcloud/common (see requirements-sdk.txt).
$(VENV)/sdk/.downloaded: requirements-sdk.txt $(VENV)/.installed
	$(BIN)/python -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes -r requirements-sdk.txt -d $(VENV)/sdk
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-fund --no-audit --loglevel=error
	touch $@

browser: ## Debian's Chromium for the browser journey test (no browser download from elsewhere)
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

openapi: setup ## regenerate openapi.json from the routes (tests fail when it is stale)
	$(BIN)/python -m faceid_fn.openapi > openapi.json

package: setup ## build .build/faceid-fn.zip for serverless.yml's runtime, then `osls package` with it
	$(BIN)/python deploy/package.py
	FACEID_ARTIFACT=.build/faceid-fn.zip node_modules/.bin/osls package

run: setup ## FaceID emulator + the function under `osls offline`, both on 127.0.0.1
	VIRTUAL_ENV=$(CURDIR)/$(VENV) PATH=$(CURDIR)/$(BIN):$$PATH local/run.sh

sweep: setup ## one run of the scheduled sweep against the running local stack (`make run` in another shell)
	source local/env.sh && node_modules/.bin/osls invoke local -f api -p events/scheduled-sweep.json

test: setup lint typecheck ## everything CI runs: lint, types, unit + integration + end-to-end tests
	$(BIN)/pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest tests/unit tests/local

integration: setup
	$(BIN)/pytest tests/integration

e2e: setup
	$(BIN)/pytest tests/e2e

fuzz: setup
	$(BIN)/pytest tests/fuzz

fmt: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lock: ## re-pin Python dependencies from requirements*.in
	$(BIN)/pip-compile --quiet --strip-extras --no-header --no-emit-index-url --no-emit-find-links -o requirements.txt requirements.in
	$(BIN)/pip-compile --quiet --strip-extras --no-header --no-emit-index-url --no-emit-find-links -o requirements-dev.txt requirements-dev.in

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .serverless .local-logs test-output .build .bench
