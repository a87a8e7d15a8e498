"""How fast the `run` service reacts to an edit: file write -> first mutating SageMaker call.

The service runs in-process (`controller.commands.run.build_runner`, then `Runner.start()` /
`stop()`, exactly what `sagemaker-gitops run -m DIR --http-port 0` wires up) against a sandbox in
its own process at latency 0, over a fleet already in sync. Each edit bumps one manifest to the
next registry version; the benchmark polls `/_sandbox/calls` every 10 ms until CreateModel,
CreateEndpointConfig or UpdateEndpoint moves (first mutation) and until UpdateEndpoint moves (the
change fully issued), then waits for the calls to go quiet before the next edit. The API calls
between write and quiet are the per-edit cost. Target: first mutation under 1 s (median).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    CAPPED_RATE,
    FAST,
    RATE_BURST,
    SandboxProcess,
    cli,
    delta,
    median,
    mutating,
    quantile,
    seed,
    service_unavailable,
    set_version,
    table,
    world,
    write_fleet,
)

NAME = "service_latency"
FIRST_MUTATION = ("CreateModel", "CreateEndpointConfig", "UpdateEndpoint")
POLL = 0.01  # seconds between reads of /_sandbox/calls
EDIT_TIMEOUT = 20.0  # longest wait for one edit's calls before giving up on it
QUIET = 0.3  # calls unchanged this long = the edit's reconcile is over
READY_TIMEOUT = 120.0
TARGET_S = 1.0


def wait_for(
    sandbox: SandboxProcess, done: Callable[[Mapping[str, int]], bool], timeout: float
) -> tuple[float | None, dict[str, int]]:
    """Poll the call counts until `done(counts)`; (perf_counter when seen or None, counts)."""
    deadline = time.perf_counter() + timeout
    while True:
        counts = sandbox.calls()
        if done(counts):
            return time.perf_counter(), counts
        if time.perf_counter() > deadline:
            return None, counts
        time.sleep(POLL)


def wait_quiet(sandbox: SandboxProcess, timeout: float = 5.0) -> dict[str, int]:
    """Counts once they stayed the same for QUIET seconds (bounded by `timeout`)."""
    deadline = time.perf_counter() + timeout
    last, since = sandbox.calls(), time.perf_counter()
    while time.perf_counter() < deadline:
        time.sleep(0.05)
        now = sandbox.calls()
        if now != last:
            last, since = now, time.perf_counter()
        elif time.perf_counter() - since >= QUIET:
            break
    return last


def edit_once(sandbox: SandboxProcess, path: Path, version: int) -> dict[str, Any]:
    before = sandbox.calls()
    first_before = mutating(before, FIRST_MUTATION)
    updates_before = before.get("UpdateEndpoint", 0)
    started = time.perf_counter()
    set_version(path, version)
    first, _ = wait_for(sandbox, lambda c: mutating(c, FIRST_MUTATION) > first_before, EDIT_TIMEOUT)
    issued, _ = wait_for(
        sandbox, lambda c: c.get("UpdateEndpoint", 0) > updates_before, EDIT_TIMEOUT
    )
    after = wait_quiet(sandbox)
    return {
        "first_mutation_s": None if first is None else first - started,
        "update_issued_s": None if issued is None else issued - started,
        "calls": delta(before, after),
    }


def scenario(endpoints: int, rate: float, edits: int) -> dict[str, Any]:
    from controller.cli import build_parser
    from controller.commands.run import build_runner
    from controller.logs import configure_logging
    from controller.service.runner import RunnerConfig

    groups = 3
    with world(seed(groups, versions=edits + 1), prefix="bench-service-") as (sandbox, root):
        paths = write_fleet(root, endpoints, groups)
        cli("apply", "-m", str(root), "--no-wait", "--calls-per-second", FAST)
        argv = ["run", "-m", str(root), "--http-port", "0", "--calls-per-second", f"{rate:g}"]
        args = build_parser().parse_args(argv)
        configure_logging(level="error", fmt="json")
        runner = build_runner(args, RunnerConfig(manifests=root, http_port=0))
        started = time.perf_counter()
        runner.start()
        try:
            if not runner.wait_ready(READY_TIMEOUT):
                raise RuntimeError(f"the service was not ready within {READY_TIMEOUT:.0f}s")
            ready_s = time.perf_counter() - started
            wait_quiet(sandbox)
            results = [edit_once(sandbox, paths[0], v) for v in range(2, edits + 2)]
        finally:
            runner.stop(timeout=10.0)
        parts = components(root)
    return summarise(endpoints, rate, ready_s, results) | {"components_s": parts}


def components(root: Path) -> dict[str, float]:
    """Two steps every edit repeats whatever the fleet size, timed alone (limit lifted):
    re-reading every manifest, and one full sweep of the owned-resource index."""
    import boto3

    from controller.aws.reading import read_inventory
    from controller.manifests.loading import load_manifests

    started = time.perf_counter()
    load_manifests([root], root=root)
    loaded = time.perf_counter()
    read_inventory(boto3.client("resourcegroupstaggingapi"), "default")
    swept = time.perf_counter()
    return {"load_manifests": loaded - started, "owned_index_sweep": swept - loaded}


def summarise(
    endpoints: int, rate: float, ready_s: float, edits: list[dict[str, Any]]
) -> dict[str, Any]:
    first = [e["first_mutation_s"] for e in edits if e["first_mutation_s"] is not None]
    issued = [e["update_issued_s"] for e in edits if e["update_issued_s"] is not None]
    ops = sorted({op for e in edits for op in e["calls"]})
    calls = {op: median([e["calls"].get(op, 0) for e in edits]) for op in ops}
    return {
        "endpoints": endpoints,
        "calls_per_second": rate,
        "edits": len(edits),
        "missed": len(edits) - len(first),
        "ready_s": ready_s,
        "first_mutation_median_s": median(first) if first else None,
        "first_mutation_p90_s": quantile(first, 0.9) if first else None,
        "update_issued_median_s": median(issued) if issued else None,
        "update_issued_p90_s": quantile(issued, 0.9) if issued else None,
        "calls_per_edit_median": calls,
        "samples": edits,
    }


def report(results: list[dict[str, Any]]) -> None:
    print(f"\nfile write -> first mutating call (CreateModel/...), target < {TARGET_S:g} s median:")
    rows = [
        [
            f"{r['endpoints']} endpoints, {r['calls_per_second']:g} calls/s",
            r["edits"] - r["missed"],
            r["first_mutation_median_s"],
            r["first_mutation_p90_s"],
            r["update_issued_median_s"],
            r["update_issued_p90_s"],
            _verdict(r["first_mutation_median_s"]),
            f"{sum(r['calls_per_edit_median'].values()):g}",
        ]
        for r in results
    ]
    headers = ["service", "edits", "median s", "p90 s", "Update median s", "Update p90 s"]
    print(table([*headers, "vs target", "calls/edit"], rows))
    print("(the watcher reloads 0.05 s after the last file closed, 0.2 s after an unclosed write)")
    for r in results:
        shown = ", ".join(f"{op} {n:g}" for op, n in r["calls_per_edit_median"].items())
        total = sum(r["calls_per_edit_median"].values())
        parts = r["components_s"]
        print(
            f"{r['endpoints']} endpoints, {r['calls_per_second']:g} calls/s: calls per edit "
            f"(median): {shown}; at a {CAPPED_RATE:g}/s cap these alone need >= "
            f"{max(0.0, (total - RATE_BURST) / CAPPED_RATE):.1f} s; re-reading all manifests "
            f"takes {parts['load_manifests']:.2f} s and one owned-index sweep "
            f"{parts['owned_index_sweep']:.2f} s"
        )


def _verdict(value: float | None) -> str:
    if value is None:
        return "no mutation seen"
    return "under" if value < TARGET_S else "OVER"


def run(quick: bool = False) -> dict[str, Any]:
    reason = service_unavailable()
    if reason is not None:
        print(f"skipped: {reason}")
        return {"skipped": reason}
    if quick:
        plan = [(10, CAPPED_RATE, 3)]
    else:
        plan = [(10, CAPPED_RATE, 10), (10, 1000.0, 5), (1000, 1000.0, 5)]
    results = [scenario(endpoints, rate, edits) for endpoints, rate, edits in plan]
    report(results)
    return {"scenarios": results}


if __name__ == "__main__":
    run(quick=True)
