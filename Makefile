# The two commands a newcomer needs: `make demo` and `make test`. Both build .venv from
# pyproject.toml on first use (and again whenever pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check lint typecheck imports unit e2e schema bench clean docs lint-ship

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
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
