"""The two glob languages of ``projects:``: root-relative paths and names.

Paths: ``*`` and ``?`` stay within one path segment, ``**`` spans segments (``teams/fraud/**``
matches every file below ``teams/fraud``). Names (targets, instance types, endpoint names): ``*``
and ``?`` over one name. Character classes and braces are refused rather than half supported, so
a pattern never means something other than what a reviewer reads.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from functools import lru_cache

_UNSUPPORTED = "[]{}\\!"


def path_problem(pattern: str) -> str | None:
    """Why `pattern` is not a usable path glob, or None."""
    if not pattern.strip():
        return "a path glob must not be empty"
    if pattern.startswith("/"):
        return f"path glob {pattern!r} must be relative to the manifest root (no leading '/')"
    if any(c in pattern for c in _UNSUPPORTED):
        return f"path glob {pattern!r}: only '*', '?' and '**' are supported"
    segments = pattern.split("/")
    if any(s in ("", ".", "..") for s in segments):
        return f"path glob {pattern!r} has an empty, '.' or '..' segment"
    if any("**" in s and s != "**" for s in segments):
        return f"path glob {pattern!r}: '**' must be a whole segment (e.g. teams/fraud/**)"
    return None


def name_problem(pattern: str, allowed: str) -> str | None:
    """Why `pattern` is not a usable name glob (characters besides * and ? in `allowed`)."""
    if not pattern:
        return "a name glob must not be empty"
    if not re.fullmatch(f"[{allowed}*?]+", pattern):
        return f"glob {pattern!r}: only {allowed!r} characters, '*' and '?' are allowed"
    return None


@lru_cache(maxsize=1024)
def _path_regex(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    segments = pattern.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            parts.append(".*" if last else "(?:[^/]+/)*")
            continue
        body = "".join(
            "[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in segment
        )
        parts.append(body if last else body + "/")
    return re.compile("".join(parts))


def path_matches(pattern: str, path: str) -> bool:
    """Whether root-relative posix `path` matches path glob `pattern` (validated)."""
    return _path_regex(pattern).fullmatch(path) is not None


def name_matches(pattern: str, name: str) -> bool:
    """Whether `name` matches name glob `pattern` (case-sensitive, as the API's names are).
    The validated patterns hold only `*` and `?`, where `fnmatchcase` means what they say."""
    return fnmatchcase(name, pattern)


def is_glob(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern
