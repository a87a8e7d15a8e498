"""Shared fixtures: a running local SageMaker sandbox, empty or seeded with manifests/seed.yaml.

moto's state is process-global, so these are function-scoped: each test gets a freshly reset
sandbox (start takes a few milliseconds) and only one runs at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import structlog
from hypothesis import settings

# Property tests are deterministic: the same examples on every run and machine, no deadline
# (a loaded CI machine must not turn a slow example into a failure).
settings.register_profile("deterministic", derandomize=True, deadline=None)
settings.load_profile("deterministic")

if TYPE_CHECKING:
    from controller.sandbox import Sandbox

SEED_FILE = Path(__file__).resolve().parent.parent / "manifests" / "seed.yaml"


@pytest.fixture(autouse=True)
def _structlog_defaults() -> Iterator[None]:
    """Each test starts from structlog's defaults: an in-process CLI run configures logging for
    the whole process (its level filters what a later test in the same worker would capture)."""
    yield
    structlog.reset_defaults()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A started, empty sandbox; endpoints change state at once (transition_seconds=0)."""
    from controller.sandbox import Sandbox

    with Sandbox(transition_seconds=0.0) as running:
        yield running


@pytest.fixture
def seeded_sandbox() -> Iterator[Sandbox]:
    """A started sandbox whose Model Registry holds manifests/seed.yaml."""
    from controller.sandbox import Sandbox

    with Sandbox(transition_seconds=0.0, seed=SEED_FILE) as running:
        yield running
