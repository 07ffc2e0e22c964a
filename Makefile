# Two commands do all set-up on a fresh Linux machine with Python 3.11+:
#   make run    install the app and start it on the embedded demo data (http://localhost:8501)
#   make test   install what the tests need (Python packages, the Ray extra, Debian's chromium) and run every test
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
MAX_UPLOAD_MB := $(or $(RISKBOARD_MAX_UPLOAD_MB),200)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint bench install install-test chromium clean

$(VENV)/.app-installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.test-installed: $(VENV)/.app-installed requirements-dev.txt requirements-ray.txt
	$(PY) -m pip install -q -r requirements-dev.txt -r requirements-ray.txt
	touch $@

install: $(VENV)/.app-installed

install-test: $(VENV)/.test-installed chromium

chromium:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }

run: install
	$(PY) -m streamlit run app.py --server.port $(PORT) --server.maxUploadSize $(MAX_UPLOAD_MB)

lint: install-test
	$(PY) -m ruff check .

test: install-test lint
	$(PY) -m pytest

bench: install-test
	$(PY) bench/bench_training.py
	$(PY) bench/bench_explain.py
	$(PY) bench/bench_fairness.py
	$(PY) bench/bench_feedback.py
	$(PY) bench/bench_privacy.py
	$(PY) bench/bench_ray.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-output
