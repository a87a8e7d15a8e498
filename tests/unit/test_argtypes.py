"""Every bad flag value is argparse's usage error (exit 2), never a traceback.

Every flag runs through the real parser in-process (fast); the ones the safety issue named also
run in a subprocess, as a shell sees them: the exit code, the usage line and the message naming
the flag. The types themselves are checked directly as well.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from controller.cli import main
from controller.commands import argtypes

BAD_FLAGS = [
    ("plan", "--calls-per-second", "0"),
    ("plan", "--calls-per-second", "-1"),
    ("plan", "--calls-per-second", "nan"),
    ("plan", "--max-chars", "-5"),
    ("plan", "--max-chars", "1e3"),
    ("apply", "--poll-interval", "0"),
    ("apply", "--poll-interval", "inf"),
    ("apply", "--concurrency", "0"),
    ("status", "--calls-per-second", "0"),
    ("run", "--http-port", "99999"),
    ("run", "--http-port", "-1"),
    ("run", "--concurrency", "0"),
    ("run", "--poll-interval", "-3"),
    ("run", "--resync-interval", "0"),
    ("run", "--shutdown-timeout", "nan"),
    ("run", "--lease-duration", "0"),
    ("run", "--requeue-interval", "-0.5"),
    ("demo", "--transition-seconds", "-1"),
]


def run_cli(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installed CLI in a subprocess, as a shell runs it."""
    return subprocess.run(
        [sys.executable, "-c", "from controller.cli import entrypoint; entrypoint()", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def _command_args(command: str, tmp: str) -> list[str]:
    return [command] if command == "demo" else [command, "-m", tmp]


@pytest.mark.parametrize(("command", "flag", "value"), BAD_FLAGS)
def test_bad_flag_value_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, flag: str, value: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*_command_args(command, str(tmp_path)), flag, value])
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert err.startswith("usage: ")
    assert f"error: argument {flag}: " in err


@pytest.mark.parametrize(
    ("command", "flag", "value"),
    [
        ("plan", "--calls-per-second", "0"),
        ("plan", "--max-chars", "-5"),
        ("run", "--http-port", "99999"),
    ],
)
def test_bad_flag_value_in_a_shell(tmp_path: Path, command: str, flag: str, value: str) -> None:
    done = run_cli(*_command_args(command, str(tmp_path)), flag, value)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stderr.startswith("usage: ")
    assert f"error: argument {flag}: " in done.stderr


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        (argtypes.port, "65536", "must be at most 65535"),
        (argtypes.port, "http", "is not a whole number"),
        (argtypes.concurrency, "0", "must be at least 1"),
        (argtypes.positive_seconds, "0", "must be greater than 0"),
        (argtypes.positive_seconds, "-inf", "is not a finite number"),
        (argtypes.non_negative_seconds, "-0.1", "must be at least 0"),
        (argtypes.calls_per_second, "1e9", "must be at most 10000"),
    ],
)
def test_types_refuse_out_of_range(kind: object, text: str, message: str) -> None:
    assert callable(kind)
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        kind(text)


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        (argtypes.port, "0", 0),
        (argtypes.port, "65535", 65535),
        (argtypes.concurrency, "1", 1),
        (argtypes.positive_seconds, "0.05", 0.05),
        (argtypes.non_negative_seconds, "0", 0.0),
        (argtypes.max_chars, "65000", 65000),
    ],
)
def test_types_accept_the_range(kind: object, text: str, value: float) -> None:
    assert callable(kind)
    assert kind(text) == value
