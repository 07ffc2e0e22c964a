# Two commands do all set-up on a fresh Linux machine with Python 3.11+:
#   make run    install the app and start it on the embedded demo data (http://localhost:8501)
#   make test   install what the tests need (Python packages, the Ray extra, Debian's chromium) and run every test
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
MAX_UPLOAD_MB := $(or $(RISKBOARD_MAX_UPLOAD_MB),200)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint bench bench-ray install install-test chromium clean

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

# one table, peers measured in the same run: make bench BENCH_ARGS="--quick" (minutes) or "--device cuda"
BENCH_ARGS ?=
bench: install-test
	$(PY) bench/run.py $(BENCH_ARGS)

# the Ray executor against the embedded one on two local Ray nodes: make bench-ray BENCH_ARGS="--quick"
bench-ray: install-test
	$(PY) bench/bench_ray.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-output
