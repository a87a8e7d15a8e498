# The two commands a newcomer needs: `make demo` and `make test`. Both build .venv from
# pyproject.toml on first use (and again whenever pyproject.toml changes); `make demo` installs
# only the runtime and the sandbox, `make test` adds the test toolchain.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo

.PHONY: demo test check lint typecheck imports unit e2e schema bench clean docs lint-ship

# The venv itself, made once; each install below adds what its command needs.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# `make demo` needs only the controller and the sandbox (moto): no linters, type checkers, stubs.
$(DEMO_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[sandbox]'
	touch $@

# Everything `make test` and `make check` run (includes the sandbox extra).
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

demo: $(DEMO_STAMP)
	$(BIN)/sagemaker-gitops demo

test: check
	$(BIN)/python -m pytest -n 2 --durations=10

check: lint typecheck imports lint-ship
	$(BIN)/python -m controller.manifests.schema --check

lint: $(STAMP)
	$(BIN)/ruff check controller tests benchmarks
	$(BIN)/ruff format --check controller tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e

schema: $(STAMP)
	$(BIN)/python -m controller.manifests.schema

# The image, the workflows, the Kubernetes files and the generated references (tests/ship runs the
# same checks inside `make test`). `make docs` regenerates docs/reference/.
lint-ship: $(STAMP)
	$(BIN)/ruff check tools
	$(BIN)/ruff format --check tools
	$(BIN)/mypy tools
	$(BIN)/hadolint Dockerfile
	$(BIN)/actionlint .github/workflows/*.yml
	$(BIN)/python -m tools.k8s_validate deploy/kubernetes
	$(BIN)/python -m tools.gendocs --check

docs: $(STAMP)
	$(BIN)/python -m tools.gendocs

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
