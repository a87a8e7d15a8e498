"""`python -m benchmarks.run [--quick] [--only NAME] [--json OUT]`: the benchmarks, `make bench`.

Each benchmark module has `NAME` and `run(quick) -> dict`; it prints its own short tables and
returns its numbers for `--json`. A benchmark that fails is reported and the others still run
(exit 1 at the end). The full run takes about 7.5 minutes on two cores (`fleet` 4 of them),
plus about 6 for `faults` and about 8 for `fleet_targets` (10,000 endpoints in 10 targets).
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCHMARKS = (
    "api_calls",
    "latency",
    "memory",
    "service_latency",
    "service_memory",
    "apply_wait",
    "targets",
    "templates",
    "cold_plan",
    "fleet",
    "faults",
    "shards",
    "fleet_targets",
    "service_memory_hour",
    "verification",
)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller fleets, fewer repeats")
    parser.add_argument(
        "--only",
        action="append",
        choices=BENCHMARKS,
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the numbers here")
    return parser.parse_args(argv)


def run_one(name: str, quick: bool) -> dict[str, Any]:
    print(f"\n=== {name}{' (quick)' if quick else ''} ===", flush=True)
    started = time.perf_counter()
    try:
        module = importlib.import_module(f"benchmarks.{name}")
        result: dict[str, Any] = module.run(quick=quick)
    except Exception as e:  # one broken benchmark must not hide the others' numbers
        traceback.print_exc()
        result = {"error": f"{type(e).__name__}: {e}"}
    result["seconds"] = round(time.perf_counter() - started, 2)
    print(f"[{name}: {result['seconds']:.1f} s]", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    names = [n for n in BENCHMARKS if not args.only or n in args.only]
    started = time.perf_counter()
    results = {name: run_one(name, args.quick) for name in names}
    total = time.perf_counter() - started
    print(f"\nall benchmarks: {total:.1f} s")
    if args.json is not None:
        document = {
            "command": " ".join(["python -m benchmarks.run", *(argv or sys.argv[1:])]),
            "quick": args.quick,
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "machine": platform.machine(),
            "seconds": round(total, 2),
            "results": results,
        }
        args.json.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
