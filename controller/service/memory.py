"""Fewer malloc arenas for the long-lived service, so its RSS stays flat over resyncs.

glibc gives threads their own malloc arenas (up to eight per core). The service's threads
(workers, the index sweeps, the removal scan) each free into whichever arena they allocated
from, and each arena keeps its own free pages: measured at 1,000 endpoints over 30 resyncs
(`/proc/PID/smaps`), RSS grew 1.6-1.9 MiB, nearly all of it in thread arenas, while the Python
heap traced flat (`python -m benchmarks.memory_sites --growth`); with one arena it grew 0.46
MiB. Under the GIL the threads seldom allocate at the same moment, so sharing arenas costs
little contention. The limit is set before any thread starts and only when the operator has not
chosen one (`MALLOC_ARENA_MAX` in the environment wins). Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_ARENA_MAX = -8
"""mallopt's parameter number for the arena limit (glibc's malloc.h)."""
SERVICE_ARENAS = 2


def limit_arenas(count: int = SERVICE_ARENAS, environ: dict[str, str] | None = None) -> bool:
    """Cap glibc's malloc arenas at `count`; True when the cap was set here."""
    env = os.environ if environ is None else environ
    if "MALLOC_ARENA_MAX" in env or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # musl (Alpine) and friends: no glibc arenas to cap
        return False
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, count))
