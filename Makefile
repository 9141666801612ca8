# The README's two commands are `make serve` and `make test`; both install first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: install serve test lint layering typecheck proto proto-check buf-lint unit integration bench bench-smoke clean

$(STAMP): pyproject.toml clients/python/pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH (or: make PYTHON=python3 ...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e clients/python -e '.[dev]'
	@# A venv from before the client had its own distribution loses bin/aqueduct when the old one is replaced.
	test -x $(VENV)/bin/aqueduct || $(PY) -m pip install -q --force-reinstall --no-deps -e clients/python
	touch $(STAMP)

$(NPM_STAMP): package.json
	npm install --no-audit --no-fund --silent
	touch $(NPM_STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(VENV)/bin/aqueduct serve $(if $(CONFIG),--config $(CONFIG),)

proto: $(STAMP)
	scripts/gen_protos.sh

buf-lint: $(NPM_STAMP)
	npx --no-install buf lint

lint: $(STAMP)
	$(VENV)/bin/ruff check aqueduct_contract core http_facade aqueduct_openai aqueduct_server clients/python/aqueduct_client tests bench
	$(VENV)/bin/ruff format --check aqueduct_contract core http_facade aqueduct_openai aqueduct_server clients/python/aqueduct_client tests bench

layering: $(STAMP)
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy aqueduct_contract core http_facade aqueduct_openai aqueduct_server clients/python/aqueduct_client bench

test: $(STAMP) $(NPM_STAMP) buf-lint lint typecheck layering
	$(VENV)/bin/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m bench.run

bench-smoke: $(STAMP)
	$(PY) -m bench.run --smoke

clean:
	rm -rf $(VENV) node_modules var .mypy_cache .ruff_cache
