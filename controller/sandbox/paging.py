"""Pages of a list the sandbox keeps itself, with AWS's NextToken contract.

The token is the offset of the next item, so a client can only hand back what it was given;
anything else is the ValidationException (or InvalidNextTokenException) AWS answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from controller.sandbox.errors import ApiError, validation_error

T = TypeVar("T")


def page_of(
    items: Sequence[T], token: str | None, size: int, bad_token: ApiError | None = None
) -> tuple[list[T], str | None]:
    """The page starting at `token` and the token of the next page (None on the last)."""
    start = 0
    if token:
        if not token.isdigit() or int(token) > len(items):
            raise bad_token or validation_error(f"Invalid NextToken: {token}")
        start = int(token)
    end = start + size
    return list(items[start:end]), (str(end) if end < len(items) else None)
