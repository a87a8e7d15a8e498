"""GitHub webhook signatures: only an exact HMAC-SHA256 of the body under our secret passes."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.service.web.webhook import sign, verify_signature

SECRET = b"It's a Secret to Everybody"
BODY = b"Hello, World!"
# GitHub's documented example for this secret and payload.
GITHUB_EXAMPLE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_github_documented_example_verifies() -> None:
    assert sign(SECRET, BODY) == GITHUB_EXAMPLE
    assert verify_signature(SECRET, BODY, GITHUB_EXAMPLE)


def test_uppercase_hex_verifies() -> None:
    assert verify_signature(SECRET, BODY, "sha256=" + GITHUB_EXAMPLE[7:].upper())


@pytest.mark.parametrize(
    ("secret", "body", "header"),
    [
        (b"other secret", BODY, GITHUB_EXAMPLE),  # wrong secret
        (SECRET, BODY + b" ", GITHUB_EXAMPLE),  # body changed
        (SECRET, BODY, GITHUB_EXAMPLE[:-1] + "0"),  # one digit off
        (b"", BODY, "sha256=" + hmac.new(b"", BODY, hashlib.sha256).hexdigest()),  # no secret
    ],
)
def test_wrong_signature_is_rejected(secret: bytes, body: bytes, header: str) -> None:
    assert not verify_signature(secret, body, header)


@pytest.mark.parametrize(
    "header",
    [
        None,  # header missing
        "",
        "sha256=",
        GITHUB_EXAMPLE[7:],  # no prefix
        "sha1=" + hmac.new(SECRET, BODY, hashlib.sha1).hexdigest(),  # old X-Hub-Signature form
        "SHA256=" + GITHUB_EXAMPLE[7:],
        GITHUB_EXAMPLE[:-2],  # too short
        GITHUB_EXAMPLE + "00",  # too long
        GITHUB_EXAMPLE[:-1] + "g",  # not hex
        GITHUB_EXAMPLE + "\n",
        "sha256=" + "é" * 64,  # non-ASCII must not reach compare_digest
    ],
)
def test_malformed_header_is_rejected(header: str | None) -> None:
    assert not verify_signature(SECRET, BODY, header)


@given(secret=st.binary(min_size=1, max_size=64), body=st.binary(max_size=512))
def test_sign_then_verify_round_trips(secret: bytes, body: bytes) -> None:
    assert verify_signature(secret, body, sign(secret, body))
    assert not verify_signature(secret, body + b"x", sign(secret, body))
