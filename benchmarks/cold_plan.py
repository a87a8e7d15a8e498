"""A cold no-op `plan` (every pull request's) from listings, against describing every endpoint
and against the lean sequential script (issue 24).

One fleet of N endpoints x 2 variants, G = N/5 groups (quick: N=100), created by `apply` (which
waits, so every endpoint carries its `sagemaker-gitops/observed` stamp). Counted on the same
fleet: the calls of `plan` (trusting stamps) and of `plan --full-describe`, against the budget
N/100 + G + index pages + 10; then at 20 ms per call, the wall time of `plan` against
`benchmarks/lean_baseline.py` (4.2 calls per endpoint, one at a time), as a ratio in one run.
"""

from __future__ import annotations

import math
import time
from typing import Any

from benchmarks.fleet import set_faults, total, write_fleet
from benchmarks.harness import FAST, cli, seed, table, world

NAME = "cold_plan"


def run(quick: bool = False) -> dict[str, Any]:
    import boto3

    from benchmarks import lean_baseline

    n = 100 if quick else 1000
    groups = max(1, n // 5)
    with world(seed(groups, 3), prefix="bench-cold-") as (sandbox, root):
        write_fleet(root, n)
        code, _, took = cli("apply", "-m", str(root), "--calls-per-second", FAST)
        if code != 0:
            raise RuntimeError("creating the fleet failed")
        print(f"fleet of {n} created and settled in {took:.1f} s", flush=True)
        pages = math.ceil(sandbox.owned_resources() / 100)
        budget = math.ceil(n / 100) + groups + pages + 10

        def calls(*flags: str) -> tuple[int, dict[str, int]]:
            before = sandbox.calls()
            cli("plan", "-m", str(root), *flags)
            after = sandbox.calls()
            return total(before, after), {
                op: after[op] - before.get(op, 0) for op in after if after[op] != before.get(op, 0)
            }

        trusted, by_op = calls()
        full, _ = calls("--full-describe")
        set_faults(sandbox, latency_ms=20)
        _, _, ours = cli("plan", "-m", str(root))
        started = time.perf_counter()
        verdicts = lean_baseline.plan(boto3.client("sagemaker"), root)
        lean = time.perf_counter() - started
        set_faults(sandbox, latency_ms=0)
    in_sync = sum(v == "in sync" for v in verdicts.values())
    rows: list[list[Any]] = [
        ["calls, cold no-op plan", trusted, f"<= N/100 + G + pages + 10 = {budget}"],
        ["calls, cold no-op plan --full-describe", full, f"{full / max(trusted, 1):.1f}x ours"],
        ["DescribeEndpoint, cold no-op plan", by_op.get("DescribeEndpoint", 0), "0"],
        [
            f"wall at 20 ms: plan {ours:.1f} s, lean script {lean:.1f} s ({in_sync}/{n} in sync)",
            f"{lean / ours:.1f}x",
            ">= 20x",
        ],
    ]
    print(table(["measure", "value", "target"], rows))
    return {
        "endpoints": n,
        "groups": groups,
        "calls_plan": trusted,
        "calls_full_describe": full,
        "budget": budget,
        "calls_by_operation": by_op,
        "wall_plan_20ms": round(ours, 2),
        "wall_lean_20ms": round(lean, 2),
        "ratio_lean_over_plan": round(lean / ours, 1),
    }
