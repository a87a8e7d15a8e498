"""Issue 19's fault proof: 50 mixed endpoints converge in ONE `apply` under after-commit faults.

For each seed, on a fresh sandbox: apply the fleet (`benchmarks.fault_fleet`: single-variant,
two-variant, autoscaled and inference-component endpoints) without faults; edit every endpoint
(a registry version bump; components: the first component's) and delete two manifests; then,
with 25% of successful writes answered 5xx and 15% with a dropped connection although they took
effect (`after_commit_error_rate`, `after_commit_drop_rate`, the seed), run one
`apply --prune --keep-history 0 --gc-min-age 0`. Faults off, every resource kind is counted with
boto3 against the manifests (`benchmarks.fault_census`), and a second apply must make no write.

The writes of that apply are compared with the same change without faults on a fresh sandbox
(measured once per run): the ratio is what the faults cost in retries and re-reads. Which
writes fail depends on the order 16 workers send them, so a seed names a fault rate's draw
sequence, not one exact run.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3

from benchmarks import fault_census, fault_fleet
from benchmarks.harness import FAST, SandboxProcess, delta, seed, table, world
from controller.sandbox.instrument.faults import is_write

NAME = "faults"
# 50 endpoints: single-variant, two-variant, autoscaled, inference components.
COUNTS = {"single": 32, "two": 6, "scaled": 6, "components": 6}
QUICK_COUNTS = {"single": 6, "two": 2, "scaled": 2, "components": 2}
GROUPS = 10
SEEDS = tuple(range(1, 21))
QUICK_SEEDS = SEEDS[:3]
FAULTS = {"after_commit_error_rate": 0.25, "after_commit_drop_rate": 0.15}
NO_FAULTS = {"after_commit_error_rate": 0.0, "after_commit_drop_rate": 0.0}
APPLY = (
    *("--calls-per-second", FAST, "--concurrency", "16"),
    *("--poll-interval", "1", "--timeout", "300"),
)
PRUNE = ("--prune", "--keep-history", "0", "--gc-min-age", "0")
TAIL = 3000  # characters of a failed apply's stderr kept in the result


def apply(root: Path, *extra: str) -> tuple[int, str]:
    """`sagemaker-gitops apply` in-process: (exit code, stderr). Exit 1 is a result here, not
    an error (`harness.cli` raises on it), since it is what this benchmark looks for."""
    from controller.cli import main

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(["apply", "-m", str(root), *APPLY, *extra])
    return code, err.getvalue()


def set_faults(sandbox: SandboxProcess, settings: Mapping[str, Any]) -> None:
    request = urllib.request.Request(
        f"{sandbox.url}/_sandbox/faults",
        data=json.dumps(dict(settings)).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def writes(before: Mapping[str, int], after: Mapping[str, int]) -> int:
    """Write calls the sandbox served between two snapshots (each took effect)."""
    return sum(n for op, n in delta(before, after).items() if is_write(op))


def scenario(
    start: Sequence[fault_fleet.FleetEndpoint],
    edited: Sequence[fault_fleet.FleetEndpoint],
    fault_seed: int | None,
) -> dict[str, Any]:
    """One fresh sandbox: create `start`, then the edit to `edited` in one apply, faulted
    with `fault_seed` (None: no faults), judged, then a second apply."""
    with world(seed(GROUPS), prefix="bench-faults-") as (sandbox, root):
        fault_fleet.write(root, start)
        code, err = apply(root)
        if code != 0:
            raise RuntimeError(f"the fault-free first apply exited {code}: {err[-TAIL:]}")
        fault_fleet.write(root, edited)
        if fault_seed is not None:
            set_faults(sandbox, {**FAULTS, "seed": fault_seed})
        before = sandbox.calls()
        started = time.perf_counter()
        code, err = apply(root, *PRUNE)
        seconds = time.perf_counter() - started
        after = sandbox.calls()
        set_faults(sandbox, NO_FAULTS)
        verdict = fault_census.census(boto3.session.Session(), edited)
        again_before = sandbox.calls()
        again_code, _ = apply(root, *PRUNE)
        again = writes(again_before, sandbox.calls())
    return {
        "seed": fault_seed,
        "exit_code": code,
        "converged": code == 0 and verdict.clean and again == 0 and again_code == 0,
        "writes": writes(before, after),
        "duplicates": verdict.count("duplicates"),
        "orphans": verdict.count("orphans"),
        "missing": verdict.count("missing"),
        "not_in_service": verdict.not_in_service,
        "second_apply_writes": again,
        "second_apply_exit_code": again_code,
        "apply_s": round(seconds, 2),
        "live": verdict.live,
        "expected": verdict.expected,
        "problems": {
            what: {k: v for k, v in getattr(verdict, what).items() if v}
            for what in ("missing", "duplicates", "orphans")
        },
        "stderr_tail": err[-TAIL:] if code != 0 else "",
    }


def fleets(
    counts: Mapping[str, int],
) -> tuple[list[fault_fleet.FleetEndpoint], list[fault_fleet.FleetEndpoint]]:
    """The fleet, and after the edit: every endpoint bumped, the first single-variant and the
    last component endpoint's manifests deleted (pruned)."""
    start = fault_fleet.fleet(dict(counts), GROUPS)
    singles = [e.name for e in start if e.shape == "single"]
    hosts = [e.name for e in start if e.shape == "components"]
    gone = {singles[0], hosts[-1]}
    edited = [
        fault_fleet.FleetEndpoint(e.name, e.shape, e.groups, bumped=True)
        for e in start
        if e.name not in gone
    ]
    return start, edited


def run(quick: bool = False) -> dict[str, Any]:
    counts, seeds = (QUICK_COUNTS, QUICK_SEEDS) if quick else (COUNTS, SEEDS)
    start, edited = fleets(counts)
    baseline = scenario(start, edited, None)
    results = []
    for fault_seed in seeds:
        results.append(scenario(start, edited, fault_seed))
        done = results[-1]
        print(
            f"seed {fault_seed}: exit {done['exit_code']}, converged {done['converged']}",
            flush=True,
        )
    base = baseline["writes"]
    rows = [
        (
            r["seed"],
            r["exit_code"],
            "yes" if r["converged"] else "NO",
            r["writes"],
            f"{r['writes'] / base:.2f}x" if base else "-",
            r["duplicates"],
            r["orphans"],
            r["missing"],
            r["second_apply_writes"],
            r["apply_s"],
        )
        for r in results
    ]
    shape = ", ".join(f"{n} {s}" for s, n in counts.items())
    print(
        f"{len(start)} endpoints ({shape}); edit: every version bumped, 2 manifests deleted; "
        f"faults: {FAULTS}"
    )
    print(f"the same apply without faults: {base} writes, exit {baseline['exit_code']}")
    headers = ["seed", "exit", "converged", "writes", "vs no faults", "dup", "orphans"]
    headers += ["missing", "2nd apply writes", "apply (s)"]
    print(table(headers, rows))
    kinds = [
        (k, baseline["expected"][k], baseline["live"][k], max(r["live"][k] for r in results))
        for k in fault_census.KINDS
    ]
    print(table(["kind", "expected", "live, no faults", "live, most under faults"], kinds))
    converged = sum(1 for r in results if r["converged"])
    ratios = [r["writes"] / base for r in results] if base else []
    print(f"{converged} of {len(results)} seeds converged in one apply")
    for r in results:
        if not r["converged"]:
            print(f"seed {r['seed']}: {r['problems']} {r['not_in_service']}")
            print(r["stderr_tail"])
    return {
        "endpoints": len(start),
        "counts": dict(counts),
        "faults": FAULTS,
        "converged": converged,
        "seeds": len(results),
        "baseline": baseline,
        "writes_ratio_min": round(min(ratios), 2) if ratios else None,
        "writes_ratio_max": round(max(ratios), 2) if ratios else None,
        "writes_ratio_mean": round(sum(ratios) / len(ratios), 2) if ratios else None,
        "results": results,
    }


if __name__ == "__main__":
    run(quick=True)
