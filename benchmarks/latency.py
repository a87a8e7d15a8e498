"""Wall time of `plan` and `apply --no-wait` under injected API latency, and the rate limit's cost.

Each latency gets a fresh sandbox (`--latency-ms L`) and the same N manifests; `apply --no-wait`
creates them, then a no-op `plan` and a no-op `apply` run. Every wall time is compared with the
same pass at latency 0 and with the serial lower bound, calls x latency. The "exposed" share,
(wall(L) - wall(0)) / (calls x L), is 1.0 when every call waits for the one before it (the pass
is a chain of round trips) and falls towards 0 as calls overlap.

The client-side rate limit (`--calls-per-second`; no cap by default, burst 5) is lifted for those
runs and measured on its own on the latency-0 fleet: a 10 calls/s cap (the former default) versus
1000 calls per second.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    CAPPED_RATE,
    FAST,
    RATE_BURST,
    SandboxProcess,
    cli,
    delta,
    seed,
    table,
    world,
    write_fleet,
)

NAME = "latency"
PASSES = ("apply_create", "plan_noop", "apply_noop")


def _argv(kind: str, root: Path, rate: str) -> list[str]:
    command = "plan" if kind.startswith("plan") else "apply"
    extra = ["--no-wait"] if command == "apply" else []
    return [command, "-m", str(root), "--calls-per-second", rate, *extra]


def _timed(sandbox: SandboxProcess, argv: list[str], repeats: int = 1) -> dict[str, Any]:
    """The fastest of `repeats` runs (the least disturbed by the machine) and its call count."""
    best: dict[str, Any] = {}
    for _ in range(repeats):
        before = sandbox.calls()
        _, _, seconds = cli(*argv)
        calls = sum(delta(before, sandbox.calls()).values())
        if not best or seconds < best["seconds"]:
            best = {"seconds": seconds, "calls": calls}
    return best


def at_latency(
    endpoints: int, groups: int, latency_ms: int, repeats: int, kinds: tuple[str, ...]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Create, plan and re-apply N endpoints on a fresh sandbox with `latency_ms` per request.

    Creation happens once per sandbox; the no-op passes take the fastest of `repeats`. At
    latency 0 the same fleet then serves the rate-limit comparison of `kinds` (second value).
    """
    with world(seed(groups), latency_ms, "bench-latency-") as (sandbox, root):
        write_fleet(root, endpoints, groups)
        passes = {
            kind: _timed(sandbox, _argv(kind, root, FAST), 1 if kind == "apply_create" else repeats)
            for kind in PASSES
        }
        return passes, rate_limit(sandbox, root, kinds) if latency_ms == 0 else None


def rate_limit(sandbox: SandboxProcess, root: Path, kinds: tuple[str, ...]) -> dict[str, Any]:
    """No-op passes with a 10 calls/s cap (the former default) and with 1000 calls/s."""
    results: dict[str, Any] = {}
    for kind in kinds:
        fast = _timed(sandbox, _argv(kind, root, FAST))
        slow = _timed(sandbox, _argv(kind, root, f"{CAPPED_RATE:g}"))
        bound = max(0.0, (slow["calls"] - RATE_BURST) / CAPPED_RATE)
        results[kind] = {"capped": slow, "fast": fast, "limiter_bound_s": bound}
    return results


def analyse(runs: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """Ratios of every run against latency 0 and against the serial bound."""
    rows = []
    for latency_ms, passes in sorted(runs.items()):
        for kind in PASSES:
            run, base = passes[kind], runs[0][kind]
            bound = run["calls"] * latency_ms / 1000.0
            rows.append(
                {
                    "pass": kind,
                    "latency_ms": latency_ms,
                    "seconds": run["seconds"],
                    "calls": run["calls"],
                    "vs_latency_0": run["seconds"] / base["seconds"],
                    "serial_bound_s": bound,
                    "vs_serial_bound": run["seconds"] / bound if bound else None,
                    "exposed": (run["seconds"] - base["seconds"]) / bound if bound else None,
                }
            )
    return rows


def report(endpoints: int, groups: int, rows: list[dict[str, Any]], limits: dict[str, Any]) -> None:
    print(f"\nN={endpoints} endpoints, G={groups} groups; --calls-per-second {FAST} (limit lifted)")
    print(
        table(
            [
                "pass",
                "latency",
                "wall s",
                "calls",
                "vs lat 0",
                "calls x lat s",
                "wall/bound",
                "exposed",
            ],
            [
                [
                    r["pass"],
                    f"{r['latency_ms']} ms",
                    r["seconds"],
                    r["calls"],
                    f"{r['vs_latency_0']:.2f}x",
                    r["serial_bound_s"],
                    None if r["vs_serial_bound"] is None else f"{r['vs_serial_bound']:.2f}x",
                    r["exposed"],
                ]
                for r in rows
            ],
        )
    )
    print("exposed = (wall - wall at 0 ms) / (calls x latency): 1.00 = every call waits in series")
    print(f"\nclient-side rate limit, latency 0 (a cap of {CAPPED_RATE:g}/s, burst {RATE_BURST}):")
    rows_limit = [
        [
            kind,
            data["capped"]["calls"],
            data["fast"]["seconds"],
            data["capped"]["seconds"],
            f"{data['capped']['seconds'] / data['fast']['seconds']:.1f}x",
            data["limiter_bound_s"],
        ]
        for kind, data in limits.items()
    ]
    print(
        table(
            ["pass", "calls", f"{FAST}/s wall s", "capped wall s", "slowdown", "(calls-5)/10 s"],
            rows_limit,
        )
    )
    print(
        f"note: --calls-per-second {CAPPED_RATE:g} (the former default) bounds every pass to >= "
        f"(calls - {RATE_BURST}) / {CAPPED_RATE:g} s whatever SageMaker's latency; a no-op pass "
        "costs ~1.03 calls per endpoint (DescribeEndpoint + 3 owned resources / 100 per "
        f"GetResources page), so N endpoints take >= ~N/{CAPPED_RATE:g} s: 1,000 endpoints "
        f">= {thousand_endpoint_bound(groups):.0f} s."
    )


def thousand_endpoint_bound(groups: int, endpoints: int = 1000) -> float:
    """Seconds a 10 calls/s cap needs for a no-op plan of `endpoints` (calls as measured)."""
    calls = endpoints + math.ceil(3 * endpoints / 100) + groups + 1
    return (calls - RATE_BURST) / CAPPED_RATE


def run(quick: bool = False) -> dict[str, Any]:
    endpoints, groups, repeats = (10, 3, 2) if quick else (50, 5, 3)
    latencies = (0, 20)
    kinds = ("plan_noop",) if quick else ("plan_noop", "apply_noop")
    runs: dict[int, dict[str, Any]] = {}
    limits: dict[str, Any] = {}
    for latency in latencies:
        runs[latency], limited = at_latency(endpoints, groups, latency, repeats, kinds)
        limits = limited or limits
    rows = analyse(runs)
    report(endpoints, groups, rows, limits)
    return {
        "endpoints": endpoints,
        "groups": groups,
        "repeats": repeats,
        "runs": rows,
        "rate_limit": limits,
        "capped_limit_bound_1000_endpoints_s": thousand_endpoint_bound(groups),
    }


if __name__ == "__main__":
    run(quick=True)
