"""Check the signature GitHub puts on webhook deliveries (`X-Hub-Signature-256`).

The HTTP server's POST /hooks/git route calls `verify_signature` before it trusts a delivery enough
to trigger a git sync; an unsigned or wrongly signed request is dropped, so a stranger who finds
the URL can at most make us answer 401, never make us fetch on their schedule.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections import OrderedDict

SIGNATURE_HEADER = "X-Hub-Signature-256"
DELIVERY_HEADER = "X-GitHub-Delivery"
DELIVERY_MEMORY = 1024  # entries (an id and a signature per delivery): hours of pushes
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


class Deliveries:
    """The recently accepted deliveries, so a replayed one is acknowledged but not acted on.

    The signature proves who wrote a body, not when: anyone who saw one signed delivery (a proxy
    log, a shared screenshot of GitHub's "Recent Deliveries") could send it again and again, each
    time starting a fetch. A delivery is known by its `X-GitHub-Delivery` id and by its
    signature (the id is not signed, so a replay may carry a fresh one; the body hash stays).
    GitHub's own "Redeliver" reuses the id, and is ignored too: the first one already fetched.
    The memory is bounded, oldest forgotten first.
    """

    def __init__(self, limit: int = DELIVERY_MEMORY) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def first_time(self, delivery: str | None, signature: str) -> bool:
        """Record the delivery; False when its id or its signature was seen recently."""
        keys = [f"sig:{signature.lower()}"]
        if delivery:
            keys.append(f"id:{delivery.strip()}")
        with self._lock:
            seen = any(k in self._seen for k in keys)
            for k in keys:  # newest last, a replay's entries too: they stay remembered longest
                self._seen[k] = None
                self._seen.move_to_end(k)
            self._trim()
            return not seen

    def _trim(self) -> None:
        while len(self._seen) > self._limit:
            self._seen.popitem(last=False)
