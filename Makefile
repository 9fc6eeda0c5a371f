# Every target bootstraps from a bare machine: uv (pinned, in .tools/), the project venv (.venv, from uv.lock),
# and whatever services the target needs (the Label Studio server gets its own venv under .datadam/ on first use).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy

.PHONY: help demo test test-unit lint bench clean stack-up stack-down chromium venv

help:
	@echo "make demo   - start the local stack and run three dataset types end to end"
	@echo "make test   - run the whole test suite (unit + integration on real services)"
	@echo "make lint   - ruff + mypy --strict on pipelines/"
	@echo "make bench  - benchmarks (each prints a ratio against a baseline measured in the same run)"

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "need Python >= 3.11 as $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --extra dev --python $(PYTHON)
	@touch $@

venv: $(VENV)/.synced

demo: $(VENV)/.synced
	$(BIN)/datadam demo

# Page tests drive Debian's Chromium (no browser downloads here) and screenshot Korean pages (Nanum fonts);
# install both when missing and we may.
chromium:
	@can_apt() { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }; \
	if ! command -v chromium >/dev/null 2>&1; then \
	  can_apt || { echo "chromium is missing: install Debian's chromium and fonts-nanum (the page tests need them)"; exit 1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-nanum >/dev/null; \
	elif [ ! -e /usr/share/fonts/truetype/nanum ] && can_apt; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-nanum >/dev/null || true; \
	fi

test: $(VENV)/.synced chromium
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(BIN)/python -m pytest tests -m "unit or integration or distributed" -p no:cacheprovider

test-unit: $(VENV)/.synced
	$(BIN)/python -m pytest tests -m unit -q

lint: $(VENV)/.synced
	$(BIN)/ruff check pipelines dags tests bench sim
	$(BIN)/mypy --strict pipelines

# Each benchmark prints a tagged line per ratio; the table of all of them comes last.
bench: $(VENV)/.synced
	@log=$$(mktemp); trap 'rm -f $$log' EXIT; \
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b 2>&1 | tee -a $$log; \
	  [ $${PIPESTATUS[0]} -eq 0 ] || exit 1; done; \
	echo; echo "== summary: each ratio against its baseline measured in the same run (lower is better)"; \
	$(BIN)/python bench/_summary.py $$log

stack-up: $(VENV)/.synced
	$(BIN)/datadam stack up

stack-down: $(VENV)/.synced
	$(BIN)/datadam stack down

clean:
	-$(BIN)/datadam stack down
	-$(BIN)/datadam stack down --home .datadam/test
	rm -rf .datadam .venv .tools .mypy_cache .ruff_cache .pytest_cache
