"""The project's exception tree.

Every error a user can cause or the cloud can raise ends up as one of these, so the CLI edge maps
them to a message and an exit code in one place and no traceback reaches a user for bad input.
"""

from __future__ import annotations

from dataclasses import dataclass


class ControllerError(Exception):
    """Base of every error the controller raises on purpose."""


@dataclass(frozen=True)
class Diagnostic:
    """One problem in one manifest: where it is and what is wrong.

    Validation collects all of them before reporting, so a user fixes a file in one pass.
    """

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ManifestError(ControllerError):
    """One or more manifests failed to load or validate."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("\n".join(str(d) for d in diagnostics))


class ResolutionError(ControllerError):
    """A model source could not be resolved (missing group or version, version not Approved).

    Terminal for the endpoint that names it: retrying will not help until the manifest or the
    registry changes.
    """


class AwsError(ControllerError):
    """An AWS call failed in a way the controller understands."""

    def __init__(self, message: str, *, operation: str = "", code: str = "") -> None:
        self.operation = operation
        self.code = code
        super().__init__(message)


class NoAnswer(AwsError):
    """A call got no answer (the connection dropped or timed out): it may have taken effect, so
    the caller re-reads before repeating it. A failure of that endpoint's pass, never of the
    command: the next pass reads what happened."""


class Throttled(AwsError):
    """AWS kept throttling after botocore's own retries: transient, retry later."""


class NotFound(AwsError):
    """The resource does not exist (SageMaker says so with a ValidationException)."""


class Conflict(AwsError):
    """The resource is busy (an update in progress) or exists already: retry later."""


class ReadOnlyViolation(ControllerError):
    """A mutating call was attempted while the client was in read-only (plan) mode."""


class OwnershipError(ControllerError):
    """A resource with the endpoint's name exists but the controller does not own it."""


class AccountMismatch(ControllerError):
    """A target's credentials act in another account than its accountId: terminal, nothing done."""
