"""`run`'s RSS over an hour of resyncs, at N endpoints and at N/10 in the same run.

An hour at the default `--resync-interval 300` is 12 resyncs; this runs PASSES (24) of them,
compressed to a 5 s interval. For each size: a sandbox in its own process, the fleet created by
`apply --no-wait`, then `python -m controller run` in its own process. RSS (and peak, VmHWM) is
read when /readyz answers, then after each resync (its ListEndpoints sweep seen by the sandbox,
plus two seconds for the pass to finish). Reported: RSS at ready, after the first and the last
pass, the slope over the second half of the passes (MiB per pass: flat is ~0), and per-endpoint
RSS between the two sizes.

`python -m benchmarks.service_memory_hour [--endpoints N] [--passes P]`;
`python -m benchmarks.run --only service_memory_hour` runs N=3000, P=24 (`--quick`: 300, 6).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request
from typing import Any

from benchmarks.harness import (
    FAST,
    cli,
    free_port,
    mib,
    proc_memory_kb,
    seed,
    stop_process,
    table,
    world,
    write_fleet,
)

NAME = "service_memory_hour"
RESYNC = 5.0
GROUPS = 30
READY_TIMEOUT = 900.0
SWEEP_TIMEOUT = 60.0


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def measure(endpoints: int, passes: int) -> dict[str, Any]:
    with world(seed(GROUPS), prefix="bench-memory-hour-") as (sandbox, root):
        write_fleet(root / "fleet", endpoints, GROUPS)
        cli("apply", "-m", str(root / "fleet"), "--no-wait", "--calls-per-second", FAST)
        port = free_port()
        argv = [sys.executable, "-m", "controller", "--log-level", "warning", "run"]
        argv += ["-m", str(root / "fleet"), "--http-port", str(port)]
        argv += ["--resync-interval", f"{RESYNC:g}", "--calls-per-second", FAST]
        proc = subprocess.Popen(
            argv, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            started = time.monotonic()
            while not _ready(port):
                if time.monotonic() - started > READY_TIMEOUT or proc.poll() is not None:
                    raise RuntimeError("run did not become ready")
                time.sleep(0.5)
            ready_s = time.monotonic() - started
            rss = [mib(proc_memory_kb(proc.pid)["VmRSS"])]
            for _ in range(passes):
                before = sandbox.calls().get("ListEndpoints", 0)
                deadline = time.monotonic() + SWEEP_TIMEOUT
                while sandbox.calls().get("ListEndpoints", 0) == before:
                    if time.monotonic() > deadline:
                        raise RuntimeError("no resync seen")
                    time.sleep(0.2)
                time.sleep(2.0)
                rss.append(mib(proc_memory_kb(proc.pid)["VmRSS"]))
            peak = mib(proc_memory_kb(proc.pid)["VmHWM"])
        finally:
            stop_process(proc)
    half = rss[len(rss) // 2 :]
    slope = (half[-1] - half[0]) / max(1, len(half) - 1)
    return {
        "endpoints": endpoints,
        "ready_s": round(ready_s, 1),
        "rss_mib": [round(r, 1) for r in rss],
        "peak_mib": round(peak, 1),
        "slope_mib_per_pass": round(slope, 3),
    }


def run(
    quick: bool = False, endpoints: int | None = None, passes: int | None = None
) -> dict[str, Any]:
    n = endpoints or (300 if quick else 3000)
    p = passes or (6 if quick else 24)
    small = measure(max(10, n // 10), p)
    large = measure(n, p)
    rows = [
        [
            m["endpoints"],
            m["ready_s"],
            m["rss_mib"][0],
            m["rss_mib"][1],
            m["rss_mib"][-1],
            m["peak_mib"],
            m["slope_mib_per_pass"],
        ]
        for m in (small, large)
    ]
    headers = ["endpoints", "ready s", "RSS ready", "after pass 1", f"after pass {p}"]
    print(table([*headers, "peak", "MiB/pass, 2nd half"], rows))
    per_endpoint = (
        (large["rss_mib"][-1] - small["rss_mib"][-1])
        * 1024
        / (large["endpoints"] - small["endpoints"])
    )
    ratio = large["rss_mib"][-1] / small["rss_mib"][-1]
    print(
        f"{large['endpoints']} endpoints: {large['rss_mib'][-1]} MiB after {p} resyncs, "
        f"{ratio:.2f}x the {small['endpoints']}-endpoint service; "
        f"{per_endpoint:.1f} KiB per endpoint between them"
    )
    return {
        "small": small,
        "large": large,
        "ratio": round(ratio, 3),
        "per_endpoint_kib": round(per_endpoint, 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoints", type=int)
    parser.add_argument("--passes", type=int)
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args()
    run(options.quick, options.endpoints, options.passes)
