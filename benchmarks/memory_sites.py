"""Where `run`'s Python heap goes, by site: tracemalloc grouped by the innermost controller frame.

The service runs in-process (`build_runner`, as `sagemaker-gitops run` wires it) over a fleet
created by `apply --no-wait`, with a 3 s resync; after it is ready and a few resyncs have run,
one snapshot is taken and every allocation still alive is charged to the innermost frame in
`controller/` on its stack (25 frames kept). Sites that do not grow with the endpoints (clients,
imports) show up too: compare two sizes to tell them apart.

`--growth SECONDS` takes a second snapshot that much later and prints what each site gained or
lost in between instead: whether RSS that keeps rising over resyncs is the heap growing (a site
here keeps adding) or the allocator not handing pages back (the traced heap stays flat).

`python -m benchmarks.memory_sites [--endpoints 1000] [--top 25] [--growth 60]` (not part of
`make bench`: tracing slows the service several times; it answers "what holds the bytes", not
"how many").
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path

from benchmarks.harness import FAST, cli, seed, world, write_fleet

ROOT = str(Path(__file__).resolve().parents[1]) + "/"


def sites(snapshot: tracemalloc.Snapshot) -> dict[str, int]:
    """Bytes alive per innermost `controller/` frame ('other' when none is on the stack)."""
    found: dict[str, int] = {}
    for stat in snapshot.statistics("traceback"):
        key = "other"
        for frame in reversed(list(stat.traceback)):
            if frame.filename.startswith(ROOT + "controller/"):
                key = f"{frame.filename.removeprefix(ROOT)}:{frame.lineno}"
                break
        found[key] = found.get(key, 0) + stat.size
    return found


def main(endpoints: int, top: int, growth: float = 0.0) -> None:
    from controller.cli import build_parser
    from controller.commands.run import _config, build_runner

    with world(seed(30), prefix="bench-memory-sites-") as (_, root):
        write_fleet(root / "fleet", endpoints, 30)
        cli("apply", "-m", str(root / "fleet"), "--no-wait", "--calls-per-second", FAST)
        argv = ["run", "-m", str(root / "fleet"), "--http-port", "0", "--resync-interval", "3"]
        args = build_parser().parse_args([*argv, "--calls-per-second", FAST])
        tracemalloc.start(25)
        runner = build_runner(args, _config(args))
        runner.start()
        try:
            if not runner.wait_ready(900):
                raise RuntimeError("run did not become ready")
            time.sleep(8)  # a few resyncs
            snapshot = tracemalloc.take_snapshot()
            later = None
            if growth > 0:
                time.sleep(growth)
                later = tracemalloc.take_snapshot()
        finally:
            runner.stop(10)
    found = sites(snapshot)
    if later is not None:
        _print_growth(found, sites(later), growth, top)
        return
    total = sum(found.values())
    print(f"traced heap {total / 2**20:.1f} MiB, {total / endpoints / 1024:.1f} KiB per endpoint")
    for key, size in sorted(found.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{size / 2**20:7.2f} MiB {size / endpoints:8.0f} B per endpoint  {key}")


def _print_growth(before: dict[str, int], after: dict[str, int], seconds: float, top: int) -> None:
    total = sum(after.values()) - sum(before.values())
    print(f"traced heap {total / 2**20:+.2f} MiB over {seconds:g} s of resyncs")
    change = {key: after.get(key, 0) - before.get(key, 0) for key in {*before, *after}}
    for key, size in sorted(change.items(), key=lambda kv: -abs(kv[1]))[:top]:
        print(f"{size / 2**10:+9.1f} KiB  {key}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--growth", type=float, default=0.0, metavar="SECONDS")
    options = parser.parse_args()
    main(options.endpoints, options.top, options.growth)
