"""Regenerate docs/reference/ (``make docs``), or check it is current (``--check``).

Each reference is generated from the code it documents, so adding a manifest field or a CLI flag
needs only ``make docs``; tests/ship/test_reference_docs.py fails while a committed file is stale.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from tools import cli_reference, manifest_reference

REPO = Path(__file__).resolve().parent.parent
GENERATED: dict[str, Callable[[], str]] = {
    "docs/reference/manifest.md": manifest_reference.render,
    "docs/reference/cli.md": cli_reference.render,
}


def stale(root: Path = REPO) -> list[str]:
    """Relative paths whose committed text differs from what the generators produce now."""
    out = []
    for relative, render in GENERATED.items():
        path = root / relative
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != render():
            out.append(relative)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.gendocs")
    parser.add_argument("--check", action="store_true", help="fail if a reference is stale")
    if parser.parse_args(argv).check:
        outdated = stale()
        for relative in outdated:
            print(f"{relative} is out of date; run `make docs`", file=sys.stderr)
        return 1 if outdated else 0
    for relative, render in GENERATED.items():
        path = REPO / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(), encoding="utf-8")
        print(f"wrote {relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
