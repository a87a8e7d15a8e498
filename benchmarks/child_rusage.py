"""A command in a fresh child process: its wall time, exit code, output and its own peak RSS.

`os.wait4` reaps the child and hands back that child's resource usage alone (`ru_maxrss`, KiB on
Linux), so the figure is the peak of exactly the process that did the work: not this
benchmark's process, not the sandbox's, and not the largest child reaped so far (which is what
`RUSAGE_CHILDREN` would give). Output goes to temporary files, so a chatty child never blocks
on a full pipe; a child still running at `timeout` is killed and reported.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ChildRun:
    """What one child process did and cost."""

    code: int
    seconds: float
    peak_rss_kib: int
    stdout: str
    stderr: str


class ChildTimeout(RuntimeError):
    """The child was still running at its deadline and was killed."""


def run_child(argv: Sequence[str], env: Mapping[str, str], timeout: float = 1800.0) -> ChildRun:
    """`python ARGV` in a fresh interpreter with `env` added to this process's environment."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, *argv], env={**os.environ, **env}, stdout=out, stderr=err, text=True
        )
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if killed.is_set():
        raise ChildTimeout(f"{' '.join(argv)} still running after {timeout:.0f} s: {stderr[-500:]}")
    return ChildRun(proc.returncode, seconds, int(usage.ru_maxrss), stdout, stderr)
