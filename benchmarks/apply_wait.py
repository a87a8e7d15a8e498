"""Wall time of `apply --wait` (default `--poll-interval 15`) against how long endpoints take.

A fresh in-process sandbox per transition time (how long an endpoint stays Creating) gets the
demo-sized fleet (3 endpoints) and one `apply` that creates and waits. The ratio wall /
transition says how much of the wait is polling overhead: the first check comes after 1 s and
the wait doubles up to `--poll-interval`, so a change is seen at most about twice its duration
(plus 1 s) after it finishes, never a full poll interval after a short one.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from benchmarks.harness import aws_env, cli, seed, table, write_fleet

NAME = "apply_wait"
ENDPOINTS = 3  # the demo's fleet size


def one(transition: float) -> dict[str, Any]:
    from controller.sandbox import Sandbox

    with (
        Sandbox(port=0, seed=seed(1), transition_seconds=transition) as sandbox,
        aws_env(sandbox.env()),
        tempfile.TemporaryDirectory(prefix="bench-wait-") as tmp,
    ):
        root = Path(tmp) / "manifests"
        write_fleet(root, ENDPOINTS, 1)
        # A no-op plan first: the one-time imports and service-model loads are not polling.
        cli("plan", "-m", str(Path(tmp)), "--calls-per-second", "1000")
        _, _, seconds = cli("apply", "-m", str(root), "--calls-per-second", "1000")
    return {"transition_s": transition, "apply_s": round(seconds, 2)}


def run(quick: bool) -> dict[str, Any]:
    transitions = (0.5, 2.0) if quick else (0.5, 2.0, 5.0)
    rows = [one(t) for t in transitions]
    for row in rows:
        row["ratio"] = round(row["apply_s"] / row["transition_s"], 2)
    print(table(["transition (s)", "apply --wait (s)", "ratio"], [list(r.values()) for r in rows]))
    return {"endpoints": ENDPOINTS, "runs": rows}
