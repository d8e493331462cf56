# The two commands: `make demo` and `make test`. Both create .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@if command -v krb5-config >/dev/null 2>&1; then \
		$(BIN)/python -m pip install --quiet -e '.[dev,kerberos]'; \
	else \
		echo "note: no krb5-config (Debian: libkrb5-dev), so no gssapi: Kerberos binds to a DC and their tests are left out"; \
	fi
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m tenantsync.demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# Two workers: most of the suite's time is spent waiting on servers and child processes.
# The on-premises tests share the one Samba DC a machine can run (it binds LDAP's fixed
# ports), so they run in one process of their own, beside the two workers (they mostly
# wait on the DC); their output follows the workers'.
unit: $(STAMP)
	@log=$$(mktemp); \
	$(BIN)/pytest tests/integration/onprem > $$log 2>&1 & onprem=$$!; \
	$(BIN)/pytest -n 2 tests --ignore=tests/integration/onprem; workers=$$?; \
	wait $$onprem; alone=$$?; \
	echo "--- tests/integration/onprem (one process, beside the workers)"; \
	cat $$log; rm -f $$log; \
	test $$workers -eq 0 && test $$alone -eq 0

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python bench/run_all.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
