"""Deterministic, content-addressed names for the immutable resources (Models, EndpointConfigs).

The same manifest always yields the same names, which is what makes apply idempotent, lets a
crashed run resume where it stopped, and turns "is this deployed?" into a name comparison.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

MAX_NAME = 63
HASH_LENGTH = 8


def content_hash(*parts: Any, length: int = HASH_LENGTH) -> str:
    """A short, stable hash of JSON-serialisable content (key order does not matter)."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:length]


def hashed_name(prefix: str, digest: str) -> str:
    """`prefix-digest`, with the prefix cut so the whole fits SageMaker's 63 characters.

    The cut prefix never ends in a hyphen, so the result still matches the API's name patterns
    (`[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`). The digest covers the full prefix, so two long names
    that share their first 54 characters still get different names.
    """
    room = MAX_NAME - len(digest) - 1
    cut = prefix[:room].rstrip("-")
    return f"{cut}-{digest}" if cut else digest


def model_name(endpoint: str, variant: str, content: Any) -> str:
    return hashed_name(f"{endpoint}-{variant}", content_hash(endpoint, variant, content))


def config_name(endpoint: str, content: Any) -> str:
    return hashed_name(endpoint, content_hash(endpoint, content))
