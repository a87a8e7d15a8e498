"""Every command's `--help` shows its defaults; `run` logs at info, the others at warning."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from controller.cli import COMMANDS, build_parser, log_level


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def shown(action: argparse.Action) -> bool:
    return bool(action.option_strings) and action.default not in (None, False, argparse.SUPPRESS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_with_a_default_says_it(command: str) -> None:
    parser = subparsers(build_parser())[command]
    text = " ".join(parser.format_help().split())
    for action in parser._actions:
        if shown(action) and action.dest != "help":
            assert "default" in (action.help or "").lower(), (command, action.option_strings)
    assert "(default: None)" not in text and "(default: False)" not in text


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("apply", ["--poll-interval", "(default: 15.0)", "(default: 3600.0)", "(default: 8)"]),
        ("plan", ["(default: text)", "(default: none;", "(default: 600.0)"]),
        ("status", ["(default: table)", "(default: 600.0)"]),
        ("run", ["(default: 300)", "(default: 127.0.0.1)"]),
        ("sandbox", ["(default: 5005)"]),
        ("demo", ["(default: manifests/endpoints)", "(default: 2.0)"]),
    ],
)
def test_help_in_a_subprocess_shows_the_defaults(command: str, expected: list[str]) -> None:
    exe = Path(sys.executable).with_name("sagemaker-gitops")
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "COLUMNS": "200"}
    done = subprocess.run(
        [str(exe), command, "--help"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    for fragment in expected:
        assert fragment in text, (command, fragment)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "-m", "x"], "info"),
        (["plan", "-m", "x"], "warning"),
        (["apply", "-m", "x"], "warning"),
        (["--log-level", "DEBUG", "run", "-m", "x"], "debug"),
        (["--log-level", "error", "apply", "-m", "x"], "error"),
    ],
)
def test_log_level_defaults_per_command(argv: list[str], expected: str) -> None:
    assert log_level(build_parser().parse_args(argv)) == expected


def test_help_imports_neither_boto3_nor_the_manifest_models() -> None:
    # `--help` and argument errors must start fast: boto3 and the pydantic manifest models cost
    # ~0.3 s each and are imported only by the command that runs. A module-level import in any
    # command (or in what its flags' defaults come from) brings them back; this names it.
    probe = (
        "import sys; from controller.cli import build_parser; build_parser(); "
        "print(' '.join(m for m in ('boto3', 'botocore', 'pydantic', 'controller.manifests.models')"
        " if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == []
