# The two commands of the README: `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
PY := $(BIN)/python
export PATH := $(BIN):$(PATH)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
PORT ?= 8888
JS_SOURCES := $(shell find src style schema -type f 2>/dev/null) package.json tsconfig.json

.PHONY: run test install system-deps js ui-deps pytest jest galata lint format bench clean

## run: JupyterLab with the extension (the sandbox when no AWS credentials are found)
run: install
	jupyter lab $(ROOT_FLAG) --ServerApp.port=$(PORT)

## test: pytest, jest and the Galata tests in real Chromium
test: install system-deps ui-deps
	$(MAKE) lint pytest jest galata

install: $(VENV)/.installed js

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(PY) pyproject.toml
	$(PY) -m pip install --quiet "hatchling>=1.5" "hatch-nodejs-version>=0.3.2" \
		"hatch-jupyter-builder>=0.9" "jupyterlab>=4.6,<5" "jupyter-builder>=1.3" editables
	$(PY) -m pip install --quiet --no-build-isolation -e ".[sandbox,test,dev]"
	jupyter-builder develop --overwrite . >/dev/null
	jupyter server extension enable --sys-prefix jupyter_cloudlab >/dev/null
	touch $@

# Rebuild the labextension when the frontend sources change.
js: jupyter_cloudlab/labextension/package.json
jupyter_cloudlab/labextension/package.json: $(JS_SOURCES) | $(VENV)/.installed
	jlpm install
	jlpm build
	touch $@

# Chromium for Galata, OpenSSH's sshd and client for the end-to-end tests, iproute2 for link cuts,
# systemd (booted in namespaces of its own, never as this host's init) for the service path.
system-deps:
	@missing=""; \
	[ -x /usr/lib/chromium/chromium ] || missing="$$missing chromium"; \
	[ -x /usr/sbin/sshd ] || missing="$$missing openssh-server"; \
	command -v ssh >/dev/null || missing="$$missing openssh-client"; \
	command -v ip >/dev/null || missing="$$missing iproute2"; \
	[ -x /usr/bin/systemd ] || missing="$$missing systemd"; \
	command -v nsenter >/dev/null || missing="$$missing util-linux"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "Missing system packages:$$missing (install them, e.g. sudo apt-get install$$missing)"; \
			[ -n "$$CI" ] && exit 1 || true; \
		fi; \
	fi

ui-deps: ui-tests/node_modules/.installed
ui-tests/node_modules/.installed: ui-tests/package.json ui-tests/yarn.lock
	cd ui-tests && jlpm install
	touch $@

pytest:
	$(PY) -m pytest

jest:
	jlpm test

galata:
	cd ui-tests && CI=1 jlpm playwright test

lint:
	$(BIN)/ruff check jupyter_cloudlab tests bench
	$(BIN)/ruff format --check jupyter_cloudlab tests bench
	$(BIN)/mypy
	jlpm lint:check

format:
	$(BIN)/ruff check --fix jupyter_cloudlab tests bench
	$(BIN)/ruff format jupyter_cloudlab tests bench
	jlpm lint

bench: install
	$(PY) bench/kernel_round_trip.py
	$(PY) bench/bootstrap.py

clean:
	rm -rf $(VENV) node_modules ui-tests/node_modules lib jupyter_cloudlab/labextension
