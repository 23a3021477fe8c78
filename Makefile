# Doseline: `make run` starts everything locally; `make test` is what CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN := $(UV) run --frozen
SRC := libs/escalation/src libs/doseline/src services/enrollment/src services/safety/src services/imaging/src services/notifications/src libs/doseline-client/src

.PHONY: help uv sync run token status test lint typecheck contracts pytest bench fmt clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

uv: $(UV) ## Install uv from PyPI if it is missing

sync: uv ## Install the locked dependencies into .venv
	$(UV) sync --frozen

run: sync ## Start every service with embedded PostgreSQL and broker (Ctrl-C stops all)
	$(RUN) doseline run

ROLE ?= admin
SUBJECT ?= dev-user
NAME ?= $(SUBJECT)
token: ## Print a development token: make -s token ROLE=coordinator [SUBJECT=nurse-wang NAME="Nurse Wang"]
	@test -x .venv/bin/doseline || $(MAKE) -s sync >&2
	@.venv/bin/doseline token mint $(foreach role,$(ROLE),--role $(role)) --subject "$(SUBJECT)" --name "$(NAME)"

status: ## What `make run` started: service URLs, database and broker URLs, readiness
	@test -x .venv/bin/doseline || $(MAKE) -s sync >&2
	@.venv/bin/doseline status

lint: sync ## Format check, lint (ruff) and dead code (vulture)
	$(RUN) ruff format --check .
	$(RUN) ruff check .
	$(RUN) vulture

typecheck: sync ## mypy --strict over every package
	$(RUN) mypy $(SRC)

contracts: sync ## Import contracts: services never import each other; escalation stays pure
	$(RUN) lint-imports

PYTEST_WORKERS ?= auto
pytest: sync ## The tests on PYTEST_WORKERS processes (TEST_DATABASE_URL / TEST_BROKER_URL, else embedded servers)
	$(RUN) pytest -n $(PYTEST_WORKERS) --dist loadfile

test: lint typecheck contracts pytest ## Everything CI checks

bench: sync ## Benchmarks; figures go to docs/benchmarks.md
	@for script in bench/[!_]*.py; do echo "== $$script"; $(RUN) python "$$script" || exit 1; done

fmt: sync ## Format and autofix
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

clean: ## Remove local state (.state holds make run's database and broker data; .env its tokens)
	rm -rf .state .env .tools .venv .pytest_cache .mypy_cache .ruff_cache
