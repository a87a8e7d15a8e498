"""Check the signature GitHub puts on webhook deliveries (`X-Hub-Signature-256`).

The HTTP server's POST /hooks/git route calls `verify_signature` before it trusts a delivery enough
to trigger a git sync; an unsigned or wrongly signed request is dropped, so a stranger who finds
the URL can at most make us answer 401, never make us fetch on their schedule.
"""

from __future__ import annotations

import hashlib
import hmac
import re

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


def sign(secret: bytes, body: bytes) -> str:
    """The header value GitHub would send for `body`; used by tests and by clients we write."""
    return _PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """True only when `header` is `sha256=<hex>` and the HMAC-SHA256 of `body` matches.

    An empty secret never verifies: it would let anyone compute a valid signature. The compare
    is constant-time so the response time does not leak how much of a forged digest was right.
    """
    if not secret or header is None:
        return False
    if not header.startswith(_PREFIX):
        return False
    digest = header[len(_PREFIX) :]
    if not _HEX_DIGEST.fullmatch(digest):
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, digest.lower())
