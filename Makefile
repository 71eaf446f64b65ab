# Two entry points for a fresh machine: `make app` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: app test setup

$(STAMP): requirements.txt requirements-dev.txt requirements-scale.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)

app: $(STAMP)
	$(VENV)/bin/streamlit run streamlit_app.py

test: $(STAMP)
	bash scripts/ensure_chromium.sh
	bash scripts/ensure_http_tools.sh
	bash scripts/ensure_postgresql.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/python -m pytest
