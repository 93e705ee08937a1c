# The two quick-start commands: `make demo` (the main job) and `make test`
# (the whole suite on every Keras backend). Both create .venv when missing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BACKENDS ?= tensorflow jax torch
PYTEST_ARGS ?=
# Local IDX files when the sibling data folder exists; otherwise the loaders
# download through Keras.
KERAS_PMM_DATA_DIR ?= $(wildcard $(abspath ../shared/datasets))
export KERAS_PMM_DATA_DIR

.PHONY: demo test lint benchmark

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[tensorflow,export,jax,torch,dev]"
	touch $@

demo: $(VENV)/.installed
	KERAS_BACKEND=tensorflow $(VENV)/bin/keras-pmm demo

# Tests marked `large` (full-data checks, slow end-to-end runs) run once, on
# LARGE_BACKEND; those also marked `every_backend` (backend behaviour such as
# jit_compile) run on each backend.
LARGE_BACKEND ?= tensorflow

test: $(VENV)/.installed lint
	@set -e; for backend in $(BACKENDS); do \
		markers="not large or every_backend"; \
		if [ "$$backend" = "$(LARGE_BACKEND)" ]; then markers="large or not large"; fi; \
		echo "=== KERAS_BACKEND=$$backend ($$markers) ==="; \
		KERAS_BACKEND=$$backend $(PY) -m pytest -n 2 --durations=15 -m "$$markers" $(PYTEST_ARGS); \
	done

# Keras's ruff settings (pyproject.toml): lint and formatting, code and
# the README's code blocks.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

benchmark: $(VENV)/.installed
	$(PY) benchmarks/eigh_bench.py
	$(PY) benchmarks/zoo_bench.py
