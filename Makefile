# The two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DB ?= data/demo.duckdb
PORT ?= 8501
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

OIDC_VENV := build/oidc-venv
# oidc-provider-mock (the local sign-in provider for the browser test) needs Python 3.12
# (pyenv's python3.12 shim exists even when it cannot run, so each candidate is tried, not just found)
PY312 ?= $(shell for p in $$HOME/.pyenv/versions/3.12*/bin/python3.12 $$(command -v python3.12); do \
	"$$p" -c 'import sys' >/dev/null 2>&1 && echo "$$p" && break; done)

.PHONY: run test install chromium oidc-mock lint bench sample clean demo

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

# Builds the demo whenever the database is missing or holds no returns (e.g. an app opened before `make run`).
demo: $(BIN)/.installed
	@mkdir -p $(dir $(DB))
	$(BIN)/cpdqa demo --db $(DB)

run: demo
	CPDQA_DB=$(DB) $(BIN)/streamlit run streamlit_app.py --server.port $(PORT) --server.address 0.0.0.0

# Browser tests drive Debian's chromium; Playwright's own browser download does not work here.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

oidc-mock:
	@[ -x $(OIDC_VENV)/bin/oidc-provider-mock ] || { \
	  if [ -n "$(PY312)" ]; then \
	    $(PY312) -m venv $(OIDC_VENV) && $(OIDC_VENV)/bin/pip install --quiet oidc-provider-mock==0.4.8 \
	      || echo "could not install oidc-provider-mock: the sign-in browser test will be skipped"; \
	  else echo "no Python 3.12 found: the sign-in browser test will be skipped"; fi; }

test: $(BIN)/.installed chromium oidc-mock
	$(BIN)/ruff check qa app tests bench scripts streamlit_app.py
	$(BIN)/pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check qa app tests bench scripts streamlit_app.py

bench: $(BIN)/.installed
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/assess.py
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/cli.py

sample: $(BIN)/.installed
	$(BIN)/python scripts/generate_sample_data.py

clean:
	rm -rf $(VENV) $(DB) $(DB).wal test-output .pytest_cache
