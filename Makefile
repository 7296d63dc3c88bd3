# fortiflex-reporter: `make demo` runs the reporter on the built-in simulator,
# `make test` runs lint and every test. Both work from a clean clone.

CARGO ?= cargo
# The interpreter that creates the virtualenv, found before .venv/bin joins PATH.
SYSTEM_PYTHON := $(shell command -v python3)
PYTHON ?= $(SYSTEM_PYTHON)
OUT ?= reports
VENV ?= .venv
EVENT ?= infra/events/scheduled.json
# The local loop's ports; infra/local/lambda.env points the Lambda at the first two.
MOTO_PORT ?= 5055
SIM_PORT ?= 8089
LAMBDA_PORT ?= 9000
LOCAL := .local

# cargo-lambda and moto come from the virtualenv.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: demo test lint build sim venv local-up local-down watch invoke local-ls clean help

help:
	@echo "make demo        - daily + 7-day report against the built-in FortiFlex simulator, into ./$(OUT)"
	@echo "make test        - fmt check, clippy, unit and integration tests (installs $(VENV) first)"
	@echo "make lint        - fmt check and clippy only"
	@echo "make build       - release build of the CLI"
	@echo "make sim         - serve the FortiFlex simulator on 127.0.0.1:$(SIM_PORT)"
	@echo "make local-up    - moto (S3 + Secrets Manager) and the simulator on loopback, bucket and secret created"
	@echo "make watch       - the Lambda under cargo lambda watch on 127.0.0.1:$(LAMBDA_PORT), local env"
	@echo "make invoke      - send EVENT=$(EVENT) to the watched Lambda"
	@echo "make local-ls    - list the reports that landed in the local bucket"
	@echo "make local-down  - stop moto and the simulator"

demo:
	$(CARGO) run --quiet --bin fortiflex-report -- demo --out $(OUT)

test: lint venv
	$(CARGO) test --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

build:
	$(CARGO) build --release --bin fortiflex-report

sim:
	$(CARGO) run --quiet --bin fortiflex-report -- sim --port $(SIM_PORT)

# The Python tools (moto server, boto3, cargo-lambda), reinstalled when their pins change.
venv: $(VENV)/.installed

$(VENV)/.installed: infra/requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements-dev.txt
	touch $@

local-up: venv
	@mkdir -p $(LOCAL)
	@$(MAKE) --no-print-directory local-down >/dev/null
	$(CARGO) build --quiet --bin fortiflex-report
	$(VENV)/bin/python -m moto.server -H 127.0.0.1 -p $(MOTO_PORT) >$(LOCAL)/moto.log 2>&1 & echo $$! >$(LOCAL)/moto.pid
	target/debug/fortiflex-report sim --port $(SIM_PORT) >$(LOCAL)/sim.log 2>&1 & echo $$! >$(LOCAL)/sim.pid
	$(VENV)/bin/python infra/local/moto.py seed
	@echo "Next: 'make watch' in another terminal, then 'make invoke EVENT=infra/events/<event>.json'"

local-down:
	@for p in $(LOCAL)/moto.pid $(LOCAL)/sim.pid; do \
	  [ -f $$p ] && kill $$(cat $$p) 2>/dev/null; rm -f $$p; \
	done; true

watch: venv
	cargo lambda watch --invoke-address 127.0.0.1 --invoke-port $(LAMBDA_PORT) --env-file infra/local/lambda.env

invoke: venv
	cargo lambda invoke fortiflex-lambda --invoke-address 127.0.0.1 --invoke-port $(LAMBDA_PORT) --data-file $(EVENT)

local-ls: venv
	@$(VENV)/bin/python infra/local/moto.py ls

clean: local-down
	$(CARGO) clean
	rm -rf $(OUT) $(LOCAL)
