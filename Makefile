# fortiflex-reporter: `make demo` runs the reporter on the built-in simulator,
# `make test` runs lint and every test. Both work from a clean clone.

CARGO ?= cargo
# The interpreter that creates the virtualenv, found before .venv/bin joins PATH.
SYSTEM_PYTHON := $(shell command -v python3)
PYTHON ?= $(SYSTEM_PYTHON)
OUT ?= reports
VENV ?= .venv
SAM_VENV ?= .venv-sam
FOCUS_VENV ?= .venv-focus
# focus-validator 2.x needs Python 3.12 or newer: pyenv's, else one on PATH.
PYTHON312 ?= $(shell PYENV_VERSION=3.12.1 command -v python3.12 2>/dev/null || command -v python3.12 || command -v python3.13)
STACK ?= fortiflex-reporter
FUNCTION ?= $(STACK)
SAMCONFIG := $(CURDIR)/infra/samconfig.toml
LAMBDA_BIN := target/lambda/fortiflex-lambda/bootstrap
EVENT ?= infra/events/scheduled.json
# The local loop's ports; infra/local/lambda.env points the Lambda at the first two.
MOTO_PORT ?= 5055
SIM_PORT ?= 8089
LAMBDA_PORT ?= 9000
LOCAL := .local

# cargo-lambda and moto come from the virtualenv.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: demo test lint build build-check build-cli template-check sim venv venv-sam venv-focus \
	local-up local-down watch invoke local-ls local-backfill preflight deploy invoke-remote backfill-remote \
	logs clean help bench

help:
	@echo "make demo        - daily + 7-day report against the built-in FortiFlex simulator, into ./$(OUT)"
	@echo "make test        - lint, template checks, every test, the arm64 Lambda build (installs $(VENV), $(SAM_VENV))"
	@echo "make lint        - fmt check and clippy only"
	@echo "make build       - the Lambda for AWS: cargo lambda build --release --arm64 ($(LAMBDA_BIN))"
	@echo "make build-cli   - release build of the CLI"
	@echo "make bench       - CPU, wall and peak memory at 100,000 entitlements, cold start, artefact size"
	@echo "make template-check - cfn-lint, sam validate --lint and the template tests"
	@echo "make sim         - serve the FortiFlex simulator on 127.0.0.1:$(SIM_PORT)"
	@echo "make local-up    - moto (S3 + Secrets Manager) and the simulator on loopback, bucket and secret created"
	@echo "make watch       - the Lambda under cargo lambda watch on 127.0.0.1:$(LAMBDA_PORT), local env"
	@echo "make invoke      - send EVENT=$(EVENT) to the watched Lambda"
	@echo "make local-ls    - list the reports that landed in the local bucket"
	@echo "make local-backfill START= END= - a backfill job on the local state machine, steps done by the watched Lambda"
	@echo "make local-down  - stop moto and the simulator"
	@echo "make preflight [REGION= PARAMS='Key=Value ...'] - check the account before a deploy (read-only)"
	@echo "make deploy      - preflight, sam build + sam deploy (guided the first time) as stack $(STACK)"
	@echo "make invoke-remote - send EVENT to the deployed function $(FUNCTION)"
	@echo "make backfill-remote [START= END=] - start a backfill job on the deployed state machine (default: every day FortiFlex holds)"
	@echo "make logs        - tail the deployed function's logs"

demo:
	$(CARGO) run --quiet --bin fortiflex-report -- demo --out $(OUT)

# Tests run uncaptured into target/test-output.log, which must then hold no secret: not the
# simulator's password, an access token (simtok-...), a wrong test password or a licence token.
TEST_LOG := target/test-output.log
test: lint venv venv-focus template-check
	@mkdir -p target
	$(CARGO) test --all-targets -- --nocapture --include-ignored >$(TEST_LOG) 2>&1 || { tail -80 $(TEST_LOG); exit 1; }
	@grep -E '^test result|^     Running' $(TEST_LOG)
	@! grep -E '^test result:.* [1-9][0-9]* ignored' $(TEST_LOG) || { echo "make test must run the ignored (moto) tests too"; exit 1; }
	@licences=$$(grep -oE '^ +"[0-9A-F]{16}",$$' src/sim/dataset.rs | tr -d ' ",' | paste -sd'|'); \
	  if grep -nE "demo-api-password|simtok-|Wr0ng-Passw0rd|$$licences" $(TEST_LOG); then \
	    echo "a secret reached the test output ($(TEST_LOG))"; exit 1; fi; \
	  echo "test output: no password, access token or licence token ($$(echo $$licences | tr '|' '\n' | wc -l) licence tokens checked)"
	$(MAKE) --no-print-directory build-check

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy --no-default-features --lib --bins -- -D warnings

# What `sam build` runs (BuildMethod: rust-cargolambda), cross-compiled with zig.
build: venv
	cargo lambda build --release --arm64 --bin fortiflex-lambda

# The artefact is an aarch64 ELF and nothing in the tree links OpenSSL.
build-check: build venv-sam
	@readelf -h $(LAMBDA_BIN) | grep -q 'Machine:.*AArch64' || { echo "$(LAMBDA_BIN) is not arm64"; exit 1; }
	@if $(CARGO) tree -i openssl-sys --target all >/dev/null 2>&1; then \
	  echo "openssl-sys is in the dependency tree:"; $(CARGO) tree -i openssl-sys --target all; exit 1; fi
	@! readelf -d $(LAMBDA_BIN) | grep -E 'NEEDED.*lib(ssl|crypto)' || { echo "$(LAMBDA_BIN) links OpenSSL"; exit 1; }
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build --template-file template.yaml >/dev/null
	@readelf -h .aws-sam/build/ReportFunction/bootstrap | grep -q 'Machine:.*AArch64'
	@echo "$(LAMBDA_BIN): arm64, $$(du -h $(LAMBDA_BIN) | cut -f1), no OpenSSL; sam build packages it"

# A benchmark, never part of `make test`: tests/bench/run.py prints one table.
bench: build
	$(CARGO) build --release --features bench --bin fortiflex-report --bin fortiflex-lambda --bin bench-lambda --bin bench-floor
	$(SYSTEM_PYTHON) tests/bench/run.py

build-cli:
	$(CARGO) build --release --bin fortiflex-report

template-check: venv venv-sam
	$(SAM_VENV)/bin/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint --template-file template.yaml
	$(SAM_VENV)/bin/python -m unittest discover -s tests/template
	$(VENV)/bin/python -m unittest discover -s tests/deploy

sim:
	$(CARGO) run --quiet --bin fortiflex-report -- sim --port $(SIM_PORT)

# The Python tools (moto server, boto3, cargo-lambda), reinstalled when their pins change.
venv: $(VENV)/.installed

$(VENV)/.installed: infra/requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements-dev.txt
	# cargo-lambda finds zig on PATH; the link beats relying on which python comes first.
	ln -sf "$$($(VENV)/bin/python -c 'import ziglang, os; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')" $(VENV)/bin/zig
	touch $@

# SAM CLI and cfn-lint in their own virtualenv: SAM pins an older boto3 than moto.
venv-sam: $(SAM_VENV)/.installed

$(SAM_VENV)/.installed: infra/requirements-sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements-sam.txt
	touch $@

# The FOCUS validator in its own virtualenv (Python 3.12).
venv-focus: $(FOCUS_VENV)/.installed

$(FOCUS_VENV)/.installed: infra/requirements-focus.txt
	@test -n "$(PYTHON312)" || { echo "focus-validator needs Python 3.12 or newer (python3.12)"; exit 1; }
	PYENV_VERSION=3.12.1 $(PYTHON312) -m venv $(FOCUS_VENV)
	$(FOCUS_VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements-focus.txt
	touch $@

local-up: venv
	@mkdir -p $(LOCAL)
	@$(MAKE) --no-print-directory local-down >/dev/null
	$(CARGO) build --quiet --bin fortiflex-report
	MOTO_PORT=$(MOTO_PORT) $(VENV)/bin/python -m moto.server -H 127.0.0.1 -p $(MOTO_PORT) >$(LOCAL)/moto.log 2>&1 & echo $$! >$(LOCAL)/moto.pid
	target/debug/fortiflex-report sim --port $(SIM_PORT) --retention-days 0 >$(LOCAL)/sim.log 2>&1 & echo $$! >$(LOCAL)/sim.pid
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

# The template's state machine on the local moto, every step done by the watched function
# (`make local-up` and `make watch` first). START and END are YYYY-MM-DD; without them, every
# day FortiFlex still holds.
local-backfill: venv
	@if [ -n "$(START)$(END)" ]; then \
	  LAMBDA_PORT=$(LAMBDA_PORT) $(VENV)/bin/python infra/local/jobs.py backfill "$(START)" "$(END)"; \
	else \
	  LAMBDA_PORT=$(LAMBDA_PORT) $(VENV)/bin/python infra/local/jobs.py retained; \
	fi

# What would fail the first deploy or the first run, checked with the deployer's credentials
# (read-only): Lambda concurrency, Step Functions and Scheduler in the region, an existing
# bucket or secret and its key. REGION for a first deploy (later ones read samconfig).
preflight: venv
	$(VENV)/bin/python infra/preflight.py --config $(SAMCONFIG) --stack $(STACK) $(if $(REGION),--region $(REGION)) $(PARAMS)

# Deploying needs AWS credentials for the target account (infra/README.md lists the IAM).
deploy: venv venv-sam preflight
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build --template-file template.yaml
	if grep -q '^region' $(SAMCONFIG); then \
	  SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam deploy --config-file $(SAMCONFIG) --stack-name $(STACK); \
	else \
	  SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam deploy --guided --config-file $(SAMCONFIG) --stack-name $(STACK) $(if $(REGION),--region $(REGION)); \
	fi

invoke-remote: venv
	cargo lambda invoke --remote $(FUNCTION) --data-file $(EVENT)

# A backfill job on the deployed state machine: START..END (YYYY-MM-DD), or without them
# every day FortiFlex still holds (the onboarding backfill). Needs the AWS CLI.
STATE_MACHINE ?= $$(aws cloudformation describe-stacks --stack-name $(STACK) \
	--query "Stacks[0].Outputs[?OutputKey=='StateMachineArn'].OutputValue" --output text)
backfill-remote:
	@if [ -n "$(START)$(END)" ]; then \
	  input='{"start_date": "$(START)", "end_date": "$(END)"}'; \
	else input='{"retained": true}'; fi; \
	aws stepfunctions start-execution --state-machine-arn "$(STATE_MACHINE)" \
	  --name "backfill-$$(date -u +%Y%m%dT%H%M%S)" --input "$$input"

logs: venv-sam
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam logs --stack-name $(STACK) --name ReportFunction --tail

clean: local-down
	$(CARGO) clean
	rm -rf $(OUT) $(LOCAL) .aws-sam
