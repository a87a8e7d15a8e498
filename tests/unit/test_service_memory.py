"""The service's malloc arena cap: set once by `run`, never over the operator's own choice."""

from __future__ import annotations

import subprocess
import sys

import pytest

from controller.service import memory


def test_an_operators_malloc_arena_max_is_left_alone() -> None:
    assert memory.limit_arenas(environ={"MALLOC_ARENA_MAX": "4"}) is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_cap_is_set_through_glibc_in_a_fresh_process() -> None:
    # In a child: the cap is process-wide and this test process must keep its own arenas.
    code = "from controller.service import memory; print(memory.limit_arenas(environ={}))"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert found.stdout.strip() == "True"
