# mailfeed's front door: `make run` and `make test` (README.md says more).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint fmt bench eval system-deps clean

run: $(STAMP)
	$(VENV)/bin/mailfeed serve

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,dev]'
	touch $(STAMP)

# The suite starts a real PostgreSQL, Dovecot and Chromium and checks the deployment
# examples with systemd-analyze and nginx: install what is missing, in one apt run
# (Debian/Ubuntu; as root, or through sudo). wrk is for `make bench` only: optional.
APT_INSTALL = DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends
system-deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || missing="$$missing dovecot-imapd"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	[ -x /usr/bin/systemd-analyze ] || missing="$$missing systemd"; \
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	if [ -n "$$missing" ]; then \
	  $$SUDO apt-get update -qq && $(APT_INSTALL) $$missing || exit 1; \
	fi; \
	if ! command -v wrk >/dev/null 2>&1; then \
	  { [ -n "$$missing" ] || $$SUDO apt-get update -qq; } && $(APT_INSTALL) wrk || true; \
	fi

# Two worker processes: every server a test needs is started per worker on free ports, and
# the suite took 670 s in one process against 363 s in two (2 cores, 2,796 tests).
test: $(STAMP) system-deps
	$(PY) -m pytest -n 2

lint: $(STAMP)
	$(VENV)/bin/ruff check gateway tests bench
	$(VENV)/bin/ruff format --check gateway tests bench
	$(VENV)/bin/mypy

fmt: $(STAMP)
	$(VENV)/bin/ruff format gateway tests bench
	$(VENV)/bin/ruff check --fix gateway tests bench

bench: $(STAMP) system-deps
	$(PY) -m bench.ingest

eval: $(STAMP)
	$(PY) -m bench.accuracy
	$(PY) -m bench.libraries

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
