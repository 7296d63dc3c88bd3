# fortiflex-reporter: `make demo` runs the reporter on the built-in simulator,
# `make test` runs lint and every test. Both work from a clean clone.

CARGO ?= cargo
OUT ?= reports

.PHONY: demo test lint build sim clean help

help:
	@echo "make demo   - daily + 7-day report against the built-in FortiFlex simulator, into ./$(OUT)"
	@echo "make test   - fmt check, clippy, unit and integration tests"
	@echo "make lint   - fmt check and clippy only"
	@echo "make build  - release build of the CLI"
	@echo "make sim    - serve the FortiFlex simulator on 127.0.0.1:8089"

demo:
	$(CARGO) run --quiet --bin fortiflex-report -- demo --out $(OUT)

test: lint
	$(CARGO) test --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

build:
	$(CARGO) build --release --bin fortiflex-report

sim:
	$(CARGO) run --quiet --bin fortiflex-report -- sim

clean:
	$(CARGO) clean
	rm -rf $(OUT)
