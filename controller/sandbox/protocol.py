"""What an incoming AWS request is, and how AWS-shaped answers look on the wire.

The WSGI app reads each request once into an `ApiRequest` (operation name, protocol, region,
credentials, body) so fault injection, call counting and the SageMaker overrides all agree on
what was called. Error bodies follow each protocol's own format, because botocore decides
whether to retry by parsing them: a throttle that botocore cannot parse is not retried.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from moto.core import cbor

from controller.sandbox.errors import ApiError, validation_error

Protocol = Literal["json", "cbor", "query", "other"]

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/")
_CBOR_PATH = re.compile(r"^/service/([A-Za-z0-9_.]+)/operation/([A-Za-z0-9]+)$")
"""Smithy RPC v2 CBOR (CloudWatch in botocore 1.44): the service and operation are in the path."""


@dataclass(frozen=True)
class ApiRequest:
    """One AWS API request as the sandbox sees it."""

    operation: str | None
    """Operation name (`DescribeEndpoint`), or None when the request is not an API call."""
    protocol: Protocol
    target_prefix: str | None
    """The JSON protocols' service prefix (`SageMaker`), or the CBOR protocol's service
    (`GraniteServiceVersion20100801`); None for query/REST."""
    region: str
    access_key: str | None
    body: bytes
    query_mode: bool = False
    """CloudWatch's JSON-over-query mode: errors also carry an `x-amzn-query-error` header."""

    def params(self) -> dict[str, Any]:
        """The JSON (or CBOR) body as a dict; a body that is not an object is a client error."""
        if not self.body:
            return {}
        try:
            value = cbor.loads(self.body) if self.protocol == "cbor" else json.loads(self.body)
        except (ValueError, cbor.CBORDecodeError) as error:
            raise ApiError("SerializationException", f"Invalid body: {error}") from error
        if not isinstance(value, dict):
            raise validation_error("The request body must be a JSON object.")
        return value


@dataclass(frozen=True)
class Response:
    """A buffered HTTP response, ready for `start_response`."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    drop: bool = False
    """Close the connection instead of answering (an injected dropped connection)."""


def parse_request(environ: dict[str, Any], body: bytes, default_region: str) -> ApiRequest:
    """Work out operation, protocol and region from headers and body, like AWS front ends do."""
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    match = _CREDENTIAL.search(auth)
    access_key = match.group(1) if match else None
    region = match.group(2) if match else default_region
    target = environ.get("HTTP_X_AMZ_TARGET")
    query_mode = str(environ.get("HTTP_X_AMZN_QUERY_MODE", "")).lower() == "true"
    cbor_route = _CBOR_PATH.match(str(environ.get("PATH_INFO", "")))
    if cbor_route and str(environ.get("HTTP_SMITHY_PROTOCOL", "")) == "rpc-v2-cbor":
        service, operation = cbor_route.groups()
        # CloudWatch is query-compatible: its errors also carry x-amzn-query-error.
        return ApiRequest(operation, "cbor", service, region, access_key, body, query_mode=True)
    if target and "." in target:
        prefix, operation = str(target).rsplit(".", 1)
        return ApiRequest(operation, "json", prefix, region, access_key, body, query_mode)
    action = _query_action(environ, body)
    if action:
        return ApiRequest(action, "query", None, region, access_key, body)
    return ApiRequest(None, "other", None, region, access_key, body)


def _query_action(environ: dict[str, Any], body: bytes) -> str | None:
    """The `Action` of a query-protocol call (STS and friends), from the form body or URL."""
    content_type = str(environ.get("CONTENT_TYPE", ""))
    sources = [str(environ.get("QUERY_STRING", ""))]
    if content_type.startswith("application/x-www-form-urlencoded"):
        sources.append(body.decode("utf-8", errors="replace"))
    for source in sources:
        values = parse_qs(source).get("Action")
        if values:
            return values[0]
    return None


def _request_id() -> str:
    return str(uuid.uuid4())


def json_default(value: Any) -> Any:
    """AWS JSON protocols send timestamps as epoch seconds; moto's naive datetimes are UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def json_response(payload: dict[str, Any], status: int = 200) -> Response:
    """A successful (or control-route) JSON answer."""
    body = json.dumps(payload, default=json_default).encode()
    headers = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("x-amzn-RequestId", _request_id()),
        ("Content-Length", str(len(body))),
    ]
    return Response(status, headers, body)


def cbor_response(payload: dict[str, Any]) -> Response:
    """A successful answer to a Smithy RPC v2 CBOR request (timestamps as CBOR tag 1)."""
    body = cbor.dumps(payload)
    headers = [
        ("Content-Type", "application/cbor"),
        ("smithy-protocol", "rpc-v2-cbor"),
        ("x-amzn-RequestId", _request_id()),
        ("Content-Length", str(len(body))),
    ]
    return Response(200, headers, body)


def answer(request: ApiRequest, payload: dict[str, Any]) -> Response:
    """A successful answer in the request's own protocol."""
    return cbor_response(payload) if request.protocol == "cbor" else json_response(payload)


def error_response(request: ApiRequest | None, error: ApiError) -> Response:
    """The error in the request's own protocol, so botocore parses code and message."""
    if request is not None and request.protocol == "query":
        return _xml_error(error)
    if request is not None and request.protocol == "cbor":
        return _cbor_error(error)
    body = json.dumps({"__type": error.code, "message": error.message}).encode()
    headers = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("x-amzn-RequestId", _request_id()),
        ("x-amzn-ErrorType", error.code),
        ("Content-Length", str(len(body))),
    ]
    if request is not None and request.query_mode:
        fault = "Sender" if error.status < 500 else "Receiver"
        headers.append(("x-amzn-query-error", f"{_query_code(error.code)};{fault}"))
    return Response(error.status, headers, body)


def _cbor_error(error: ApiError) -> Response:
    body = cbor.dumps({"__type": error.code, "message": error.message})
    fault = "Sender" if error.status < 500 else "Receiver"
    headers = [
        ("Content-Type", "application/cbor"),
        ("smithy-protocol", "rpc-v2-cbor"),
        ("x-amzn-RequestId", _request_id()),
        ("x-amzn-query-error", f"{_query_code(error.code)};{fault}"),
        ("Content-Length", str(len(body))),
    ]
    return Response(error.status, headers, body)


def _query_code(code: str) -> str:
    """Query-protocol services call throttling `Throttling`, not `ThrottlingException`."""
    return "Throttling" if code == "ThrottlingException" else code


def _xml_error(error: ApiError) -> Response:
    fault = "Sender" if error.status < 500 else "Receiver"
    body = (
        "<ErrorResponse><Error>"
        f"<Type>{fault}</Type><Code>{escape(_query_code(error.code))}</Code>"
        f"<Message>{escape(error.message)}</Message>"
        f"</Error><RequestId>{_request_id()}</RequestId></ErrorResponse>"
    ).encode()
    headers = [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))]
    return Response(error.status, headers, body)
