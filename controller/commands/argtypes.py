"""Range-checked argparse types: a bad flag value is a usage error (exit 2), never a traceback.

argparse's plain ``type=int``/``type=float`` accept ``0``, ``-5``, ``99999`` and even ``nan`` or
``inf``; the damage shows later as a division by zero, a hang or a crash deep inside. Each type
here checks its range where the flag is parsed, and argparse reports the failure as
``argument --flag: ...`` with the usage line, like any other bad argument.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def integer(*, at_least: int | None = None, at_most: int | None = None) -> Callable[[str], int]:
    """An int type accepting `at_least` <= value <= `at_most` (either bound optional)."""

    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        _check_range(value, text, at_least, at_most)
        return value

    parse.__name__ = "integer"  # argparse names the type in "invalid <name> value" messages
    return parse


def number(
    *, above: float | None = None, at_least: float | None = None, at_most: float | None = None
) -> Callable[[str], float]:
    """A finite float type: greater than `above`, or at least `at_least`; at most `at_most`."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if above is not None and value <= above:
            raise argparse.ArgumentTypeError(f"must be greater than {above:g} (got {text})")
        _check_range(value, text, at_least, at_most)
        return value

    parse.__name__ = "number"
    return parse


def _check_range(value: float, text: str, at_least: float | None, at_most: float | None) -> None:
    if at_least is not None and value < at_least:
        raise argparse.ArgumentTypeError(f"must be at least {at_least:g} (got {text})")
    if at_most is not None and value > at_most:
        raise argparse.ArgumentTypeError(f"must be at most {at_most:g} (got {text})")


positive_seconds = number(above=0)
"""Intervals and timeouts: zero would spin, negative makes no sense."""
non_negative_seconds = number(at_least=0)
"""Durations where zero means "none" (the sandbox's state transitions)."""
calls_per_second = number(above=0, at_most=10_000)
"""A client-side rate: zero would never call at all."""
concurrency = integer(at_least=1, at_most=256)
"""Workers at once: zero would never do anything; the cap keeps threads (and API calls) sane."""
port = integer(at_least=0, at_most=65535)
"""A TCP port; 0 asks the OS for any free one."""
max_chars = integer(at_least=1)
"""A size limit for rendered text (the renderer cuts to fit, however small)."""
