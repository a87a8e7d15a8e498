"""Errors raised inside the sandbox.

`ApiError` is what a handler raises to answer an AWS call with an AWS-shaped error; the WSGI app
turns it into the protocol's error body, so handlers never build HTTP responses themselves.
`SandboxError` is for the people running the sandbox (bad seed, second instance, bad faults).
"""

from __future__ import annotations


class SandboxError(Exception):
    """A problem with how the sandbox is used or configured (not an AWS API error)."""


class SeedError(SandboxError):
    """A seed file or dict is invalid; the message names the file and the field."""


class ApiError(Exception):
    """An AWS API error: the code botocore sees as `Error.Code`, a message and an HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def validation_error(message: str) -> ApiError:
    """SageMaker reports almost every client mistake as a 400 ValidationException."""
    return ApiError("ValidationException", message)
