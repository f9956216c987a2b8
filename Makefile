# The README's commands. `make run` sets up and starts the chat UI; `make test` sets up and runs
# every test (what CI runs); `make check` is the inner loop: lint and the fast tier.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MODEL := models/embeddinggemma-300m/.verified
PORT ?= 8501

.PHONY: setup browser llm-server run chat test check lint eval grounding bench clean

setup: $(VENV)/.installed $(MODEL)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(if $(wildcard /opt/wheels),--find-links /opt/wheels) torch==2.13.0
	$(PY) -m pip install -q $(if $(wildcard /opt/wheels),--find-links /opt/wheels) -e ".[dev]"
	touch $@

$(MODEL): $(VENV)/.installed
	$(PY) -m assistant.index.model_setup models

run: setup
	$(VENV)/bin/asf ingest
	$(PY) -m ui.serve --server.port $(PORT) --server.headless true \
		--browser.gatherUsageStats false

chat: setup
	$(VENV)/bin/asf chat

# The browser test needs Chromium and its driver (Debian packages; root or sudo).
browser:
	.ci/install-browser

# A real llama.cpp server and a small GGUF model for tests/test_llm_real_server.py (test-only;
# AGPL server, Gemma-licensed model), built portably (the x86-64 baseline) into
# $ASF_TEST_CACHE or ~/.cache/asf-assistenten: minutes on a fresh two-core machine, seconds
# after. A failure is reported, not fatal: those tests then skip and name the build log.
llm-server: setup
	-$(PY) -m tests.llama_server

test: setup browser llm-server
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check assistant eval tests ui
	$(VENV)/bin/mypy

# The fast tier: no real embedding model, browser or llama.cpp server (those are marked), one
# test file per worker over every core (4m40 on a quiet two-core machine; see eval/figures.md).
FAST_TESTS := not integration and not browser and not llm_server
check: lint
	$(PY) -m pytest -m "$(FAST_TESTS)" -n auto --dist loadfile

eval: setup
	$(VENV)/bin/asf eval

grounding: setup
	$(PY) -m eval.grounding

bench: setup
	$(PY) -m eval.bench

clean:
	rm -rf data .pytest_cache
