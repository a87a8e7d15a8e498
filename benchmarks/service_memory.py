"""Resident memory of the `run` service holding a large fleet, against the same service at 10.

`sagemaker-gitops run` runs as its own process (`python -m controller run -m DIR --http-port 0`)
against a sandbox in another, over a fleet already in sync (created with `apply --no-wait`). Its
RSS and peak RSS (VmHWM) are read from /proc when /readyz first answers 200 (initial sync done)
and again after one periodic resync (seen by its ListEndpoints sweep). A second service with
10 endpoints under another controller id is the baseline. Target: under 200 MB at 1,000.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from benchmarks.harness import (
    FAST,
    START_TIMEOUT,
    SandboxProcess,
    cli,
    mib,
    proc_memory_kb,
    seed,
    service_unavailable,
    stop_process,
    table,
    world,
    write_fleet,
)
from benchmarks.service_latency import wait_quiet

NAME = "service_memory"
SMALL = 10
TARGET_MB = 200.0
READY_TIMEOUT = 180.0
RESYNC_INTERVAL = {True: 1.0, False: 5.0}  # by quick: short, so a full resync happens soon
RESYNC_TIMEOUT = 120.0


class ServiceProcess:
    """`python -m controller run ...` in its own process; its HTTP port comes from its log."""

    def __init__(self, folder: Path, owner: str, env: dict[str, str], resync: float) -> None:
        argv = [sys.executable, "-m", "controller", "--log-format", "json", "run"]
        argv += ["-m", str(folder), "--http-port", "0", "--calls-per-second", FAST]
        argv += ["--controller-id", owner, "--resync-interval", f"{resync:g}"]
        argv += ["--shutdown-timeout", "5"]
        self.proc = subprocess.Popen(
            argv,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.port = self._port(START_TIMEOUT)

    def _port(self, timeout: float) -> int:
        """Read log lines until `running` names the port; keep draining stderr afterwards."""
        assert self.proc.stderr is not None
        found: dict[str, int] = {}
        seen = threading.Event()
        tail: list[str] = []

        def drain(stream: IO[str]) -> None:
            for line in stream:
                tail[:] = [*tail[-20:], line]
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("event") == "running" and "http_port" in event:
                    found["port"] = int(event["http_port"])
                    seen.set()

        threading.Thread(target=drain, args=(self.proc.stderr,), daemon=True).start()
        if not seen.wait(timeout):
            stop_process(self.proc)
            raise RuntimeError(f"`run` did not report its port: {''.join(tail)[-2000:]}")
        return found["port"]

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=5):
                return True
        except (urllib.error.URLError, OSError):
            return False

    def memory(self) -> dict[str, int]:
        return proc_memory_kb(self.proc.pid)

    def stop(self) -> None:
        stop_process(self.proc, timeout=15.0)


def wait_until(check: Callable[[], bool], timeout: float, step: float = 0.1) -> float | None:
    """Seconds until `check()` held, or None after `timeout`."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if check():
            return time.perf_counter() - started
        time.sleep(step)
    return None


def measure(
    sandbox: SandboxProcess, folder: Path, owner: str, endpoints: int, resync: float
) -> dict[str, Any]:
    service = ServiceProcess(folder, owner, sandbox.env(), resync)
    try:
        ready_s = wait_until(service.ready, READY_TIMEOUT)
        if ready_s is None:
            raise RuntimeError(f"`run` with {endpoints} endpoints not ready in {READY_TIMEOUT}s")
        at_ready = service.memory()
        before = sandbox.calls()

        def resynced() -> bool:
            # A resync lists endpoints (change detection) or, on its backstop pass, describes
            # every one; either says the periodic pass is under way.
            now = sandbox.calls()
            listed = now.get("ListEndpoints", 0) > before.get("ListEndpoints", 0)
            described = now.get("DescribeEndpoint", 0) - before.get("DescribeEndpoint", 0)
            return listed or described >= endpoints

        resync_s = wait_until(resynced, resync + RESYNC_TIMEOUT, step=0.2)
        wait_quiet(sandbox)  # let the resync's reconciles return
        after = service.memory()
    finally:
        service.stop()
    return {
        "endpoints": endpoints,
        "ready_s": ready_s,
        "resync_seen_s": resync_s,
        "rss_ready_kb": at_ready.get("VmRSS"),
        "rss_after_resync_kb": after.get("VmRSS"),
        "peak_rss_kb": after.get("VmHWM"),
    }


def run(quick: bool = False) -> dict[str, Any]:
    reason = service_unavailable()
    if reason is not None:
        print(f"skipped: {reason}")
        return {"skipped": reason}
    endpoints, groups = (200, 5) if quick else (1000, 10)
    with world(seed(groups), prefix="bench-service-memory-") as (sandbox, root):
        started = time.perf_counter()
        for folder, count, owner in (("large", endpoints, "default"), ("small", SMALL, "small")):
            write_fleet(root / folder, count, groups, prefix="ep" if owner == "default" else owner)
            argv = ["-m", str(root / folder), "--no-wait", "--calls-per-second", FAST]
            cli("apply", *argv, "--controller-id", owner)
        setup = time.perf_counter() - started
        resync = RESYNC_INTERVAL[quick]
        small = measure(sandbox, root / "small", "small", SMALL, resync)
        large = measure(sandbox, root / "large", "default", endpoints, resync)
    result = {
        "endpoints": endpoints,
        "setup_seconds": setup,
        "small": small,
        "large": large,
        "peak_mb": large["peak_rss_kb"] * 1024 / 1e6,
        "peak_over_small": large["peak_rss_kb"] / small["peak_rss_kb"],
        "per_endpoint_kib": (large["peak_rss_kb"] - small["peak_rss_kb"]) / (endpoints - SMALL),
        "target_mb": TARGET_MB,
    }
    report(result)
    return result


def report(r: dict[str, Any]) -> None:
    print(f"\n`run` service RSS (MiB), fleet in sync, --calls-per-second {FAST}:")
    rows = [
        [
            f"run, {m['endpoints']} endpoints",
            m["ready_s"],
            mib(m["rss_ready_kb"]),
            mib(m["rss_after_resync_kb"]),
            mib(m["peak_rss_kb"]),
            "seen" if m["resync_seen_s"] is not None else "not seen",
        ]
        for m in (r["small"], r["large"])
    ]
    print(table(["service", "ready s", "RSS ready", "RSS after resync", "peak", "resync"], rows))
    verdict = "under" if r["peak_mb"] < TARGET_MB else "OVER"
    print(
        f"peak {r['peak_mb']:.0f} MB for {r['endpoints']} endpoints ({verdict} the "
        f"{TARGET_MB:.0f} MB target), {r['peak_over_small']:.2f}x the {SMALL}-endpoint service; "
        f"{r['per_endpoint_kib']:.1f} KiB per endpoint (fleet setup {r['setup_seconds']:.1f} s)"
    )


if __name__ == "__main__":
    run(quick=True)
