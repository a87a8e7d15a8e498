"""The table of `benchmarks/fleet_targets.py`: each figure of the fleet as a ratio to the same
figure of its BASELINE (the same layout at N/10) measured in the same run.

`python -m benchmarks.fleet_targets_report OUT.json` prints the table again from a saved run
(`benchmarks.run --json OUT.json` or `benchmarks.fleet_targets --json OUT.json`), so the
figures in docs/benchmarks.md can be checked against the numbers the run wrote.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

from benchmarks.harness import table

LATENCY_MS = 20


def speedup(lean: dict[str, Any], endpoints: int) -> float:
    """The lean script's seconds per endpoint over the cold plan's (each on what it read)."""
    return (lean["lean_seconds"] / lean["lean_endpoints"]) / (lean["plan_seconds"] / endpoints)


def _per_endpoint_ratio(big: float, small: float, big_n: int, small_n: int) -> float:
    """Cost per endpoint at the fleet over cost per endpoint at its baseline: 1.0 is linear."""
    return (big / big_n) / (small / small_n) if small else math.inf


def rows(fleet: dict[str, Any], base: dict[str, Any]) -> list[dict[str, Any]]:
    n, m = fleet["size"]["endpoints"], base["size"]["endpoints"]
    out: list[dict[str, Any]] = []

    def add(measure: str, big: float, small: float, ratio: float, unit: str, note: str) -> None:
        out.append(
            {
                "measure": measure,
                "fleet": big,
                "baseline": small,
                "ratio": ratio,
                "unit": unit,
                "note": note,
            }
        )

    for phase, label in (
        ("apply", "first apply"),
        ("plan", "cold no-op plan"),
        ("resync", "no-op resync of run"),
    ):
        big, small = fleet[phase], base[phase]
        add(
            f"{label}, wall",
            big["seconds"],
            small["seconds"],
            _per_endpoint_ratio(big["seconds"], small["seconds"], n, m),
            "s",
            "per endpoint",
        )
        calls, base_calls = big["calls"], small["calls"]
        add(
            f"{label}, calls (all targets)",
            calls["total"],
            base_calls["total"],
            _per_endpoint_ratio(calls["total"], base_calls["total"], n, m),
            "",
            "per endpoint",
        )
        if phase != "apply":
            add(
                f"{label}, calls of the busiest target / its listing floor",
                calls["max"],
                calls["floor"],
                calls["max"] / calls["floor"],
                "",
                "x the floor",
            )
        add(
            f"{label}, peak RSS",
            big["peak_rss_kib"] / 1024,
            small["peak_rss_kib"] / 1024,
            big["peak_rss_kib"] / small["peak_rss_kib"],
            "MiB",
            "x the baseline's",
        )
    big, small = fleet["run"], base["run"]
    add(
        "run, start -> ready (initial sync), wall",
        big["ready_seconds"],
        small["ready_seconds"],
        _per_endpoint_ratio(big["ready_seconds"], small["ready_seconds"], n, m),
        "s",
        "per endpoint",
    )
    add(
        "run, initial sync, calls (all targets)",
        big["calls"]["total"],
        small["calls"]["total"],
        _per_endpoint_ratio(big["calls"]["total"], small["calls"]["total"], n, m),
        "",
        "per endpoint",
    )
    for key, label in (
        ("issued_seconds", "UpdateEndpoint served"),
        ("converged_seconds", "InService on the new config"),
    ):
        b, s = statistics.median(big[key]), statistics.median(small[key])
        add(
            f"run, edit -> {label}, median of {len(big[key])} (max {max(big[key]):.2f} s)",
            b,
            s,
            b / s if s else math.inf,
            "s",
            "x the baseline's",
        )
    one = base.get("one_target")
    if one is not None:
        for phase, label in (("apply", "first apply"), ("plan", "cold no-op plan")):
            add(
                f"{label}, peak RSS, the baseline's {m} endpoints in "
                f"{base['size']['targets']} targets / in 1",
                base[phase]["peak_rss_kib"] / 1024,
                one[phase]["peak_rss_kib"] / 1024,
                base[phase]["peak_rss_kib"] / one[phase]["peak_rss_kib"],
                "MiB",
                "x one target's",
            )
    lean, base_lean = fleet["lean"], base["lean"]
    add(
        f"cold plan at {LATENCY_MS} ms vs the lean script, per endpoint (script on one target's "
        f"{lean['lean_endpoints']}, plan on all {n}: {lean['lean_seconds']:.1f} s vs "
        f"{lean['plan_seconds']:.1f} s)",
        speedup(lean, n),
        speedup(base_lean, m),
        speedup(lean, n) / speedup(base_lean, m),
        "x faster",
        "x the baseline's",
    )
    add(
        "run, peak RSS after the edits",
        big["peak_rss_kib"] / 1024,
        small["peak_rss_kib"] / 1024,
        big["peak_rss_kib"] / small["peak_rss_kib"],
        "MiB",
        "x the baseline's",
    )
    return out


def report(fleet: dict[str, Any], base: dict[str, Any], found: list[dict[str, Any]]) -> None:
    size, small = fleet["size"], base["size"]
    print(
        f"\n{size['endpoints']} endpoints in {size['targets']} targets ({size['groups']} groups) "
        f"against the BASELINE {small['endpoints']} in {small['targets']} ({small['groups']}); "
        "measured: the fleet's, baseline: the BASELINE's, unless the row names both:"
    )
    print(
        table(
            ["measure", "measured", "baseline", "ratio", ""],
            [
                [
                    r["measure"] + (f" ({r['unit']})" if r["unit"] else ""),
                    round(r["fleet"], 2),
                    round(r["baseline"], 2),
                    f"{r['ratio']:.2f}x",
                    r["note"],
                ]
                for r in found
            ],
        )
    )
    for label, lean in (("fleet", fleet["lean"]), ("baseline", base["lean"])):
        print(
            f"at {LATENCY_MS} ms, {label}: cold plan of every target {lean['plan_seconds']:.1f} s "
            f"({lean['plan_calls']} calls), lean script on one target's "
            f"{lean['lean_endpoints']} endpoints {lean['lean_seconds']:.1f} s"
        )
    for phase in ("plan", "resync"):
        calls = fleet[phase]["calls"]
        print(
            f"{phase}: calls per target {calls['min']}-{calls['max']} (+{calls['ambient']} "
            f"ambient), busiest target's {calls['busiest_ops']}"
        )


def main(argv: list[str]) -> int:
    document = json.loads(Path(argv[0]).read_text())
    found = document.get("results", {}).get("fleet_targets", document)
    report(found["fleet"], found["baseline"], rows(found["fleet"], found["baseline"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
