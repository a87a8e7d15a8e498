"""Smoke test of `benchmarks/fleet_targets.py` at a tiny size: every phase runs and what it
reports holds together (the full size is run by hand: `python -m benchmarks.run --only
fleet_targets`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from benchmarks import fleet_targets, fleet_targets_report
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
    lean = measured["lean"]
    assert lean["lean_endpoints"] == 2
    assert lean["lean_seconds"] > 0 and lean["plan_seconds"] > 0


def test_rows_are_ratios_to_the_baseline(measured: dict[str, Any]) -> None:
    """Against itself every per-endpoint and baseline ratio is exactly 1."""
    base = {**measured, "one_target": measured}
    rows = fleet_targets_report.rows(measured, base)
    assert {r["ratio"] for r in rows if r["note"] != "x the floor"} == {1.0}
    floors = [r for r in rows if r["note"] == "x the floor"]
    assert [r["baseline"] for r in floors] == [3, 3]
    assert len([r for r in rows if r["note"] == "x one target's"]) == 2


def test_a_saved_run_prints_again(measured: dict[str, Any], tmp_path: Any, capsys: Any) -> None:
    """`python -m benchmarks.fleet_targets_report OUT.json` reads `benchmarks.run --json`."""
    saved = tmp_path / "out.json"
    document = {"results": {"fleet_targets": {"fleet": measured, "baseline": measured}}}
    saved.write_text(json.dumps(document))
    assert fleet_targets_report.main([str(saved)]) == 0
    printed = capsys.readouterr().out
    assert "4 endpoints in 2 targets (2 groups) against the BASELINE 4 in 2 (2)" in printed
    assert "cold no-op plan, calls of the busiest target / its listing floor" in printed
