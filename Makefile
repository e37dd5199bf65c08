# Two commands do everything on a fresh Debian/Ubuntu box:
#   make run    install what is missing, build the default sandbox image, start the server
#   make test   the same preparation, then lint, type check and the whole test suite
.PHONY: run test test-ts install docker image dashboard-assets lint format sdk-sync bench official-sdk current-sdk security-report clean

VENV    ?= .venv
PY      := $(VENV)/bin/python
HOST    ?= 127.0.0.1
PORT    ?= 3000
DATA_DIR ?= $(CURDIR)/.data
OFFICIAL_VENV := .venv-official
CURRENT_VENV := .venv-current
# The project's own Docker engine (scripts/ensure-docker.sh starts it, with disk quotas); set
# DOCKER_HOST to use another engine as it is.
export DOCKER_HOST ?= unix:///run/daytona/docker.sock

$(VENV)/.installed: pyproject.toml
	@command -v python3 >/dev/null || { echo "error: python3 (3.11+) is required"; exit 1; }
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

docker:
	@./scripts/ensure-docker.sh

image: docker install
	$(PY) -m daytona_server.runner.default_image

# The dashboard's terminal, xterm.js, from npm (src/daytona_server/dashboard/npm, locked) into the
# gitignored static/vendor/ it is served from; without npm the dashboard runs without its terminal.
DASHBOARD_NPM := src/daytona_server/dashboard/npm
DASHBOARD_VENDOR := src/daytona_server/dashboard/static/vendor

$(DASHBOARD_NPM)/node_modules/.package-lock.json: $(DASHBOARD_NPM)/package.json $(DASHBOARD_NPM)/package-lock.json
	@if command -v npm >/dev/null; then cd $(DASHBOARD_NPM) && npm ci --no-audit --no-fund; \
	else echo "warning: npm not found: the dashboard runs without its terminal (install Node.js, then make dashboard-assets)"; fi

dashboard-assets: $(DASHBOARD_NPM)/node_modules/.package-lock.json
	@if test -d $(DASHBOARD_NPM)/node_modules/@xterm; then \
		mkdir -p $(DASHBOARD_VENDOR) && cd $(DASHBOARD_NPM)/node_modules/@xterm && \
		cp xterm/lib/xterm.mjs xterm/css/xterm.css addon-fit/lib/addon-fit.mjs $(CURDIR)/$(DASHBOARD_VENDOR)/ && \
		cp xterm/LICENSE $(CURDIR)/$(DASHBOARD_VENDOR)/xterm.LICENSE; fi

run: image dashboard-assets
	DAYTONA_DATA_DIR=$(DATA_DIR) $(VENV)/bin/daytona server --host $(HOST) --port $(PORT)

lint: install
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts
	$(VENV)/bin/mypy
	$(PY) scripts/gen_sync_sdk.py --check

format: install
	$(VENV)/bin/ruff format src tests bench scripts
	$(VENV)/bin/ruff check --fix src tests bench scripts

sdk-sync: install
	$(PY) scripts/gen_sync_sdk.py

# The published Daytona SDK, in a venv of its own (it has the same import name as ours), used by
# the compatibility tests.
$(OFFICIAL_VENV)/.installed:
	python3 -m venv $(OFFICIAL_VENV)
	$(OFFICIAL_VENV)/bin/pip install -q daytona-sdk==0.10.0 daytona-api-client==0.14.0
	@touch $@

official-sdk: $(OFFICIAL_VENV)/.installed

# Today's published Daytona SDKs, for the same purpose: `daytona` in a venv of its own, and
# `@daytonaio/sdk` in a scratch npm project (tests/compat/typescript).
COMPAT_TS := tests/compat/typescript

$(CURRENT_VENV)/.installed:
	python3 -m venv $(CURRENT_VENV)
	$(CURRENT_VENV)/bin/pip install -q daytona==0.226.1
	@touch $@

$(COMPAT_TS)/node_modules/.package-lock.json: $(COMPAT_TS)/package.json $(COMPAT_TS)/package-lock.json
	cd $(COMPAT_TS) && npm ci --no-audit --no-fund

current-sdk: $(CURRENT_VENV)/.installed $(COMPAT_TS)/node_modules/.package-lock.json

# The TypeScript SDK (sdk/typescript): install its dev dependencies when missing, build it, and run
# its tests against a real server (Node.js 20+).
TS_SDK := sdk/typescript

$(TS_SDK)/node_modules/.package-lock.json: $(TS_SDK)/package.json $(TS_SDK)/package-lock.json
	@command -v npm >/dev/null && node -e 'process.exit(parseInt(process.versions.node) < 20 ? 1 : 0)' \
		|| { echo "error: Node.js 20+ and npm are required for the TypeScript SDK (https://nodejs.org)"; exit 1; }
	cd $(TS_SDK) && npm ci --no-audit --no-fund

test-ts: image $(TS_SDK)/node_modules/.package-lock.json
	cd $(TS_SDK) && npm test

test: image dashboard-assets official-sdk current-sdk lint test-ts
	@WITH_TEST_DEPS=1 ./scripts/ensure-docker.sh
	$(VENV)/bin/pytest -q

# The adversarial escape matrix (tests/security/probes.py) against a fresh server, as a table.
security-report: image
	$(PY) -m tests.security.report

bench: image
	$(PY) bench/create_exec.py

clean:
	rm -rf $(VENV) $(OFFICIAL_VENV) $(CURRENT_VENV) $(COMPAT_TS)/node_modules .pytest_cache .mypy_cache .ruff_cache $(TS_SDK)/node_modules $(TS_SDK)/dist $(TS_SDK)/build \
		$(DASHBOARD_NPM)/node_modules $(DASHBOARD_VENDOR)
