"""`status` exit codes: 0 settled, 1 an error, 3 not in sync or not healthy."""

from __future__ import annotations

from typing import Any

import pytest

from controller.commands.status import EXIT_ERROR, EXIT_OK, EXIT_UNSETTLED, exit_code


def row(sync: str = "Synced", health: str = "Healthy") -> dict[str, Any]:
    return {"endpoint": "e", "sync": sync, "health": health}


@pytest.mark.parametrize(
    ("rows", "load_errors", "expected"),
    [
        ([], 0, EXIT_OK),
        ([row(), row("Suspended")], 0, EXIT_OK),
        ([row(), row("Error", "Healthy")], 0, EXIT_ERROR),
        ([row()], 1, EXIT_ERROR),
        ([row("Error"), row("OutOfSync")], 0, EXIT_ERROR),
        ([row(), row("OutOfSync")], 0, EXIT_UNSETTLED),
        ([row("Orphaned")], 0, EXIT_UNSETTLED),
        ([row(health="Progressing")], 0, EXIT_UNSETTLED),
        ([row(health="Degraded")], 0, EXIT_UNSETTLED),
        ([row("Suspended", "Degraded")], 0, EXIT_UNSETTLED),
        ([row("OutOfSync", "Missing")], 0, EXIT_UNSETTLED),
    ],
)
def test_exit_code(rows: list[dict[str, Any]], load_errors: int, expected: int) -> None:
    assert exit_code(rows, load_errors) == expected


def test_codes_do_not_collide_with_argparse_usage_errors() -> None:
    assert 2 not in (EXIT_OK, EXIT_ERROR, EXIT_UNSETTLED)
