"""Smoke test of `benchmarks/fleet_targets.py` at a tiny size: every phase runs and what it
reports holds together (the full size is run by hand: `python -m benchmarks.run --only
fleet_targets`)."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks import fleet_targets
from benchmarks.fleet_targets import Size


@pytest.fixture(scope="module")
def measured() -> dict[str, Any]:
    return fleet_targets.measure(Size.of(4, 2), edits=1)


def test_every_phase_ran_against_every_target(measured: dict[str, Any]) -> None:
    apply = measured["apply"]["calls"]
    # Each target created its two endpoints: model, config and endpoint each, in its account.
    assert all(calls >= 6 for calls in apply["per_target"])
    for phase in ("plan", "resync"):
        calls = measured[phase]["calls"]
        assert len(calls["per_target"]) == 2
        assert calls["max"] >= calls["floor"] == 1 + 1 + 1  # a page, a page, one group
        assert not any(op.startswith(("Create", "Update")) for op in calls["busiest_ops"])
    for phase in ("apply", "plan", "resync", "run"):
        assert measured[phase]["peak_rss_kib"] > 10_000  # a Python process's own, in KiB


def test_the_edit_converged_and_the_lean_script_agreed(measured: dict[str, Any]) -> None:
    run = measured["run"]
    assert run["ready_seconds"] > 0
    assert len(run["issued_seconds"]) == len(run["converged_seconds"]) == 1
    assert run["issued_seconds"][0] <= run["converged_seconds"][0]
    assert measured["lean"]["lean_endpoints"] == 2


def test_rows_are_ratios_to_the_baseline(measured: dict[str, Any]) -> None:
    """Against itself every per-endpoint and baseline ratio is exactly 1."""
    rows = fleet_targets.rows(measured, measured)
    assert {r["ratio"] for r in rows if r["note"] != "x the floor"} == {1.0}
    floors = [r for r in rows if r["note"] == "x the floor"]
    assert [r["baseline"] for r in floors] == [3, 3]
