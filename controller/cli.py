"""The `sagemaker-gitops` command line: argument parsing and the one place errors become exit codes.

Each command lives in `controller.commands.<name>` and returns an int; known errors are mapped to
messages here so no traceback reaches a user for bad input or a cloud failure we understand.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from controller import __version__
from controller.errors import ControllerError, ManifestError

# The order commands appear in `--help`.
COMMANDS = (
    "validate",
    "render",
    "plan",
    "apply",
    "status",
    "run",
    "promote",
    "rollback",
    "verify",
    "sandbox",
    "demo",
)
# The long-lived service logs its lifecycle and every change (info); one-shot commands print
# their own report, so their logs default to problems only.
LOG_LEVEL_DEFAULTS = {"run": "info"}
LOG_LEVEL_DEFAULT = "warning"


def show_defaults(parser: argparse.ArgumentParser) -> None:
    """Add "(default: ...)" to the help of every option of `parser` and its subcommands.

    Like argparse.ArgumentDefaultsHelpFormatter, but also for options declared without help
    text, and not where there is nothing to show (flags, None) or the help already says it.
    """
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                show_defaults(child)
            continue
        text = action.help or ""
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        if action.default in (None, False, argparse.SUPPRESS) or "default" in text.lower():
            continue
        action.help = f"{text} (default: %(default)s)".lstrip()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sagemaker-gitops",
        description="GitOps controller for Amazon SageMaker inference endpoints.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        type=str.lower,
        default=None,
        help=f"log level (default: info for run, {LOG_LEVEL_DEFAULT} for the other commands)",
    )
    parser.add_argument(
        "--log-format",
        choices=("auto", "json", "console"),
        default="auto",
        help="auto: JSON unless stderr is a terminal",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"controller.commands.{name}").register(sub)
    show_defaults(parser)
    return parser


def log_level(args: argparse.Namespace) -> str:
    """`--log-level`, else the command's default."""
    given: str | None = args.log_level
    return given or LOG_LEVEL_DEFAULTS.get(args.command, LOG_LEVEL_DEFAULT)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    args.log_level = log_level(args)
    from controller.logs import configure_logging

    configure_logging(level=args.log_level, fmt=args.log_format)
    try:
        code: int = args.func(args)
        return code
    except ManifestError as e:
        for diagnostic in e.diagnostics:
            print(f"error: {diagnostic}", file=sys.stderr)
        return 1
    except ControllerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if not _report_aws_error(e):
            raise
        return 1


def _report_aws_error(error: Exception) -> bool:
    """Print a botocore error as one line; False for anything else. botocore is imported only
    by commands that call AWS, so when it is not loaded the error cannot be one of its own
    (`--help` and `validate` start without it)."""
    exceptions = sys.modules.get("botocore.exceptions")
    if exceptions is None:
        return False
    if isinstance(error, exceptions.NoCredentialsError):
        print(
            "error: no AWS credentials found (standard chain: env, profile, role)", file=sys.stderr
        )
    elif isinstance(error, (exceptions.BotoCoreError, exceptions.ClientError)):
        print(f"error: AWS: {error}", file=sys.stderr)
    else:
        return False
    return True


def entrypoint() -> None:
    sys.exit(main())
