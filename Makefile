# faceid-fn developer commands. `make run` and `make test` are the two a newcomer needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCAN_VENV := .venv-scan
export SLS_TELEMETRY_DISABLED := 1
export SLS_NOTIFICATIONS_MODE := off

.PHONY: setup sdk-models browser openapi package run invoke sweep redrive soak test lint typecheck unit integration e2e template fuzz fmt lock clean

setup: $(VENV)/.installed $(VENV)/sdk/.downloaded node_modules/.installed $(SCAN_VENV)/.installed ## install Python (venvs) and npm dependencies

# checkov pins its own (old) boto3/botocore: it lives in a venv of its own (tests/template).
$(SCAN_VENV)/.installed: requirements-scan.txt
	test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-scan.txt
	touch $@

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.txt -r requirements-dev.txt
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
	$(BIN)/python -m faceid_fn.entrypoints.http.openapi > openapi.json

package: setup ## build .build/faceid-fn.zip, then `osls package` with it (PARAMS='--param="jwtIssuer=..." ...')
	$(BIN)/python deploy/package.py
	FACEID_ARTIFACT=.build/faceid-fn.zip node_modules/.bin/osls package $(PARAMS)

run: $(VENV)/.installed node_modules/.installed ## the local stack on 127.0.0.1 (no root, no browser); Ctrl-C stops it
	VIRTUAL_ENV=$(CURDIR)/$(VENV) PATH=$(CURDIR)/$(BIN):$$PATH local/run.sh

# The recipe runs in its own shell: nothing of local/env.sh is left in the caller's. FUNCTION is one of
# serverless.yml's functions: api (HTTP and upload events), sweep (the schedule), deliver (completion events).
FUNCTION ?= api
invoke: $(VENV)/.installed node_modules/.installed ## run one event against the local stack (`make run` up elsewhere): make invoke EVENT=events/s3-put.json [FUNCTION=api]
	@test -n "$(EVENT)" || { echo "usage: make invoke EVENT=events/<file>.json [FUNCTION=api|sweep|deliver] (with \`make run\` up in another shell)" >&2; exit 2; }
	@test -f "$(EVENT)" || { echo "make invoke: no such event file: $(EVENT)" >&2; exit 2; }
	@source local/env.sh && osls invoke local $$OSLS_LOCAL_PARAMS -f "$(FUNCTION)" -p "$(EVENT)"

sweep: $(VENV)/.installed node_modules/.installed ## one run of the scheduled sweep against the running local stack (`make run` in another shell)
	@$(MAKE) --no-print-directory invoke FUNCTION=sweep EVENT=events/scheduled-sweep.json

# Against a deployed stage, with the AWS credentials of the shell (docs/operations.md, Runbook).
redrive: $(VENV)/.installed ## re-invoke the failed uploads and webhook deliveries of a stage's on-failure queue: make redrive STAGE=prod [REGION=...] [DRY_RUN=1]
	@test -n "$(STAGE)" || { echo "usage: make redrive STAGE=<stage> [REGION=<region>] [DRY_RUN=1]" >&2; exit 2; }
	$(BIN)/python -m tools.redrive --stage "$(STAGE)" $(if $(REGION),--region "$(REGION)") $(if $(DRY_RUN),--dry-run)

# The soak (bench/soak.py; docs/bench.md): MINUTES of load at FaceID's full rate under faults, then every
# session accounted for; writes bench/results/soak.{json,md,png}, fails on any loss. `--quick` runs in make test.
MINUTES ?= 10
soak: setup ## MINUTES (10) of load at FaceID's rate under faults, every session accounted for (bench/results/soak.*)
	$(BIN)/python bench/soak.py --minutes $(MINUTES)

# One pytest worker per core, at most 4 (tests that share repository files stay in one: tests/conftest.py).
test: setup browser lint typecheck ## everything CI runs: lint, types, template scans, unit + integration + end-to-end tests
	$(BIN)/pytest --numprocesses=auto --maxprocesses=4

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck:
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest tests/unit tests/local

integration: setup
	$(BIN)/pytest tests/integration

e2e: setup browser
	$(BIN)/pytest tests/e2e

template: setup ## package serverless.yml (no artifact build) and scan the template: cfn-lint, checkov
	$(BIN)/pytest tests/template

fuzz: setup
	FUZZ_EXAMPLES=full $(BIN)/pytest tests/fuzz

fmt: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Every pin carries the hashes of its files (all platforms: the artifact's wheels are Lambda's), and every
# install checks them (--require-hashes). --allow-unsafe: pip-tools needs pip and setuptools, which hash
# checking wants pinned like the rest.
LOCK := $(BIN)/pip-compile --quiet --strip-extras --no-header --no-emit-index-url --no-emit-find-links --generate-hashes --allow-unsafe
lock: ## re-pin Python dependencies from requirements*.in (with hashes)
	$(LOCK) -o requirements.txt requirements.in
	$(LOCK) -o requirements-dev.txt requirements-dev.in
	$(LOCK) -o requirements-scan.txt requirements-scan.in

clean:
	rm -rf $(VENV) $(SCAN_VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .serverless .local-logs test-output .build .bench
