"""Who may POST /suspend and /resume: never a web page, and with a token when one is configured.

A browser lets any page it shows submit a form to any address it can reach, the pod's port
included, and a form POST is a "simple" request that needs no CORS preflight: without a check, a
link in a chat could suspend every deploy. Browsers send a JSON content type or a custom header
cross-origin only after a preflight this server never approves (it answers no OPTIONS and sends
no CORS headers), so requiring one of them leaves only same-origin pages and non-browser clients
(curl, kubectl exec, scripts). A request that names a foreign `Origin` (or that the browser marks
`Sec-Fetch-Site: cross-site`) is refused outright, and with `--control-token-file` the caller must
also send `Authorization: Bearer <token>`, compared in constant time.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from http import HTTPStatus
from typing import Protocol
from urllib.parse import urlsplit

CONTROL_HEADER = "X-Requested-By"  # any non-empty value; or Content-Type: application/json
_JSON = "application/json"


class Headers(Protocol):
    """Case-insensitive header lookup (the stdlib server's `email.message.Message`)."""

    def get(self, name: str) -> str | None: ...


@dataclass(frozen=True)
class Refusal:
    """Why a control request is refused, as the HTTP answer."""

    status: HTTPStatus
    error: str
    reason: str  # the http_refused metric's label: cross_site or token


def check(headers: Headers, token: bytes | None) -> Refusal | None:
    """None when the request may suspend or resume; else why not."""
    content_type = (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if content_type != _JSON and not (headers.get(CONTROL_HEADER) or "").strip():
        return Refusal(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            f"send Content-Type: {_JSON} or an {CONTROL_HEADER} header "
            "(a plain form post could come from any web page)",
            "cross_site",
        )
    if _cross_origin(headers):
        return Refusal(HTTPStatus.FORBIDDEN, "cross-origin request refused", "cross_site")
    if token is not None and not _bearer_matches(headers.get("Authorization"), token):
        return Refusal(HTTPStatus.UNAUTHORIZED, "missing or wrong bearer token", "token")
    return None


def _cross_origin(headers: Headers) -> bool:
    """The browser says the request comes from a page of another origin than this server."""
    if (headers.get("Sec-Fetch-Site") or "").strip().lower() == "cross-site":
        return True
    origin = headers.get("Origin")
    if origin is None:
        return False  # not a browser, or a same-origin GET-less navigation: nothing to compare
    host = (headers.get("Host") or "").strip().lower()
    parts = urlsplit(origin.strip())
    # "null" (a sandboxed frame, a file: page) has no host and never matches.
    return not parts.netloc or parts.netloc.lower() != host


def _bearer_matches(header: str | None, token: bytes) -> bool:
    scheme, _, given = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return False
    return hmac.compare_digest(given.strip().encode(), token)
