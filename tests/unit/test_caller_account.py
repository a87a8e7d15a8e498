"""The account check's own call fails as a controller error saying whose credentials it asked
about, so a plan reports it per endpoint instead of crashing on a raw botocore error."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from controller.aws.targets import caller_account
from controller.errors import AwsError, Throttled


class Sts:
    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def get_caller_identity(self) -> dict[str, str]:
        if isinstance(self.answer, Exception):
            raise self.answer
        return {"Account": self.answer, "Arn": "arn:aws:iam::1:user/x", "UserId": "x"}


def client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "GetCallerIdentity")


def test_the_account_is_read_from_the_identity() -> None:
    assert caller_account(Sts("444444444444"), "target prod") == "444444444444"


@pytest.mark.parametrize(
    ("failure", "kind", "text"),
    [
        (client_error("AccessDenied", "not allowed"), AwsError, "GetCallerIdentity: AccessDenied"),
        (client_error("Throttling", "Rate exceeded"), Throttled, "Rate exceeded"),
        (NoCredentialsError(), AwsError, "GetCallerIdentity failed: Unable to locate"),
    ],
)
def test_a_failed_identity_call_is_a_controller_error_naming_whose(
    failure: Exception, kind: type[AwsError], text: str
) -> None:
    with pytest.raises(kind) as raised:
        caller_account(Sts(failure), "target prod")
    assert str(raised.value).startswith("target prod: ") and text in str(raised.value)
    assert raised.value.operation == "GetCallerIdentity"
