"""Fixtures for the sandbox tests (helpers live in sandbox_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sandbox_helpers import ManualClock, client

from controller.sandbox import Sandbox


@pytest.fixture
def sm(sandbox: Sandbox) -> Any:
    return client(sandbox)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def slow_sandbox(clock: ManualClock) -> Iterator[Sandbox]:
    """A sandbox on a manual clock where every transition takes 10 (fake) seconds."""
    with Sandbox(transition_seconds=10.0, clock=clock) as running:
        yield running
