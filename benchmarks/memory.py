"""Peak memory of `plan` over a large fleet, against the same process right after its imports.

The sandbox runs in its own process and the fleet is created with `apply --no-wait` (limit
lifted), so the account is in sync and the measured `plan` is the steady-state no-op pass. Each
measurement is a fresh child process (`python -m benchmarks.memory --child ...`), so nothing the
parent did is counted: the child imports what `plan` uses, records its RSS (the baseline), runs
`plan` in-process, and reports its peak RSS (VmHWM). A second fleet of 10 endpoints under another
controller id gives the fixed cost (botocore's service models, clients), so the difference is the
memory each endpoint adds; a third of N/5 endpoints shows whether plan time grows linearly. The
full run repeats the small and large plans under tracemalloc for the peak of Python allocations
(tracemalloc's own bookkeeping inflates RSS, hence separate runs) and charges what the small plan
leaves allocated to the packages that asked for it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    FAST,
    START_TIMEOUT,
    cli,
    mib,
    proc_memory_kb,
    seed,
    table,
    world,
    write_fleet,
)

NAME = "memory"
SMALL = 10
CHILD_TIMEOUT = 120.0
ATTRIBUTE_DEPTH = 8  # frames kept per allocation when charging memory to packages (slow)


def create_fleet(root: Path, endpoints: int, groups: int, prefix: str, owner: str) -> Path:
    folder = root / owner
    write_fleet(folder, endpoints, groups, prefix=prefix)
    argv = ["-m", str(folder), "--no-wait", "--calls-per-second", FAST, "--controller-id", owner]
    cli("apply", *argv)
    return folder


def child(folder: Path, owner: str, env: dict[str, str], depth: int = 0) -> dict[str, Any]:
    """One `plan` in a fresh process; `depth` > 0 traces allocations with that many frames."""
    argv = [sys.executable, "-m", "benchmarks.memory", "--child", str(folder), "--owner", owner]
    argv += ["--trace-depth", str(depth)]
    done = subprocess.run(
        argv,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT + START_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory child failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure_child(folder: str, owner: str, depth: int) -> dict[str, Any]:
    """In the child: RSS after imports, then one `plan` through the CLI, then the peaks."""
    import tracemalloc

    import boto3  # noqa: F401  (what `plan` itself needs)

    import controller.commands.plan
    import controller.rendering.markdown
    import controller.rendering.text  # noqa: F401
    from controller.cli import build_parser, main

    core = proc_memory_kb()
    build_parser()  # the CLI imports every command module, as `main` will
    baseline = proc_memory_kb()
    if depth:
        tracemalloc.start(depth)
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = main(["plan", "-m", folder, "--calls-per-second", FAST, "--controller-id", owner])
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "exit_code": code,
        "seconds": seconds,
        "plan_chars": len(out.getvalue()),
        "core_imports_rss_kb": core.get("VmRSS"),
        "baseline_rss_kb": baseline.get("VmRSS"),
        "peak_rss_kb": proc_memory_kb().get("VmHWM"),
        "final_rss_kb": proc_memory_kb().get("VmRSS"),
        "ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "sandbox_imported": "moto" in sys.modules,
    }
    if depth:
        current, peak = tracemalloc.get_traced_memory()
        result |= {"traced_peak_kb": peak // 1024, "traced_retained_kb": current // 1024}
    if depth >= ATTRIBUTE_DEPTH:
        result["retained_by_package_kb"] = by_package(tracemalloc.take_snapshot())
    return result


def by_package(snapshot: Any, top: int = 6) -> dict[str, int]:
    """Memory still allocated, by the package that asked for it (KiB, largest first).

    Each allocation is charged to the innermost frame outside the standard library, so the
    dicts `json.loads` builds for botocore count as botocore's.
    """
    totals: dict[str, int] = {}
    for stat in snapshot.statistics("traceback"):
        name = next(
            (p for f in reversed(stat.traceback) if (p := _package(f.filename)) is not None),
            "stdlib",
        )
        totals[name] = totals.get(name, 0) + stat.size
    ranked = sorted(totals.items(), key=lambda kv: kv[1], reverse=True)
    return {name: size // 1024 for name, size in ranked[:top]}


def _package(filename: str) -> str | None:
    parts = Path(filename).parts
    if "site-packages" in parts:
        index = parts.index("site-packages")
        return parts[index + 1].removesuffix(".py") if index + 1 < len(parts) else None
    for marker in ("controller", "benchmarks"):
        if marker in parts:
            return marker
    return None


def run(quick: bool = False) -> dict[str, Any]:
    endpoints, groups = (200, 5) if quick else (1000, 10)
    with world(seed(groups), prefix="bench-memory-") as (sandbox, root):
        started = time.perf_counter()
        big = create_fleet(root, endpoints, groups, "ep", "default")
        small = create_fleet(root, SMALL, groups, "small", "small")
        mid = create_fleet(root, endpoints // 5, groups, "mid", "mid")
        setup = time.perf_counter() - started
        env = sandbox.env()
        runs = {
            "small": child(small, "small", env),
            "mid": child(mid, "mid", env),
            "large": child(big, "default", env),
        }
        if not quick:  # tracing costs seconds: the full run only
            runs["small_traced"] = child(small, "small", env, ATTRIBUTE_DEPTH)
            runs["large_traced"] = child(big, "default", env, 1)
    result = analyse(endpoints, runs)
    result |= {"endpoints": endpoints, "groups": groups, "setup_seconds": setup, "runs": runs}
    report(result)
    return result


def analyse(endpoints: int, runs: dict[str, Any]) -> dict[str, Any]:
    small, large = runs["small"], runs["large"]
    per_endpoint = (large["peak_rss_kb"] - small["peak_rss_kb"]) / (endpoints - SMALL)
    found = {
        "baseline_rss_mib": mib(large["baseline_rss_kb"]),
        "peak_rss_mib": mib(large["peak_rss_kb"]),
        "peak_over_baseline": large["peak_rss_kb"] / large["baseline_rss_kb"],
        "growth_mib": mib(large["peak_rss_kb"] - large["baseline_rss_kb"]),
        "small_growth_mib": mib(small["peak_rss_kb"] - small["baseline_rss_kb"]),
        "rss_per_endpoint_kib": per_endpoint,
        # Marginal plan time per endpoint between two sizes: the fixed cost cancels out.
        "plan_ms_per_endpoint_low": 1000
        * (runs["mid"]["seconds"] - small["seconds"])
        / (endpoints // 5 - SMALL),
        "plan_ms_per_endpoint_high": 1000
        * (large["seconds"] - runs["mid"]["seconds"])
        / (endpoints - endpoints // 5),
        "sandbox_import_mib": mib(large["baseline_rss_kb"] - large["core_imports_rss_kb"]),
    }
    if "large_traced" in runs:
        traced, traced_small = runs["large_traced"], runs["small_traced"]
        marginal = traced["traced_peak_kb"] - traced_small["traced_peak_kb"]
        found |= {
            "traced_peak_mib": mib(traced["traced_peak_kb"]),
            "traced_small_peak_mib": mib(traced_small["traced_peak_kb"]),
            "traced_per_endpoint_kib": marginal / (endpoints - SMALL),
        }
    return found


def report(r: dict[str, Any]) -> None:
    n, runs = r["endpoints"], r["runs"]
    print(f"\n`plan` of {n}, {n // 5} and {SMALL} in-sync endpoints, one fresh process each (MiB):")
    rows = [
        [
            f"plan {count} endpoints",
            mib(runs[key]["baseline_rss_kb"]),
            mib(runs[key]["peak_rss_kb"]),
            mib(runs[key]["peak_rss_kb"] - runs[key]["baseline_rss_kb"]),
            f"{runs[key]['peak_rss_kb'] / runs[key]['baseline_rss_kb']:.2f}x",
            runs[key]["seconds"],
        ]
        for key, count in (("small", SMALL), ("mid", n // 5), ("large", n))
    ]
    print(table(["run", "RSS after imports", "peak RSS", "growth", "peak/base", "plan s"], rows))
    low, high = r["plan_ms_per_endpoint_low"], r["plan_ms_per_endpoint_high"]
    print(
        f"plan time per added endpoint: {low:.1f} ms from {SMALL} to {n // 5}, {high:.1f} ms "
        f"from {n // 5} to {n} ({high / low:.2f}x; 1.00x would be linear)"
    )
    print(f"per endpoint: {r['rss_per_endpoint_kib']:.1f} KiB of peak RSS ({n} vs {SMALL})")
    large = runs["large"]
    print(
        f"of the RSS after imports, {r['sandbox_import_mib']:.1f} MiB come from building the CLI "
        f"parser (moto imported: {large['sandbox_imported']}); the rest from boto3 + controller"
    )
    if "large_traced" in runs:
        print(
            f"Python allocations (tracemalloc) peak {r['traced_peak_mib']:.1f} MiB for {n} vs "
            f"{r['traced_small_peak_mib']:.1f} MiB for {SMALL}: "
            f"{r['traced_per_endpoint_kib']:.1f} KiB per endpoint"
        )
        small = runs["small_traced"]
        held = ", ".join(
            f"{name} {mib(kb):.1f}" for name, kb in small["retained_by_package_kb"].items()
        )
        print(
            f"still allocated after the {SMALL}-endpoint plan returned: "
            f"{mib(small['traced_retained_kb']):.1f} MiB; by package (MiB): {held}"
        )
    print(f"(fleet setup: {r['setup_seconds']:.1f} s, not measured)")


def _child_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory")
    parser.add_argument("--child", required=True, metavar="DIR")
    parser.add_argument("--owner", default="default")
    parser.add_argument("--trace-depth", type=int, default=0)
    args = parser.parse_args(argv)
    print(json.dumps(measure_child(args.child, args.owner, args.trace_depth)))
    return 0


if __name__ == "__main__":
    if "--child" in sys.argv:
        sys.exit(_child_main(sys.argv[1:]))
    run(quick=True)
