"""The one place boto3 clients are made: retry mode, client-side rate limit, read-only guard.

The endpoint comes from the standard AWS configuration chain (AWS_ENDPOINT_URL,
AWS_ENDPOINT_URL_SAGEMAKER, profiles), so the local sandbox and real AWS look the same to the
rest of the controller. Everything else receives a `Clients` and never builds its own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Literal

import boto3
import botocore.config
from botocore.retries.standard import ThrottledRetryableChecker

from controller.aws.ratelimit import TokenBucket
from controller.errors import ControllerError, ReadOnlyViolation

# Operation name prefixes that never change anything; the plan command allows only these.
# botocore's own list of codes its retry logic treats as throttling: the truth for the label.
THROTTLING_CODES = frozenset(vars(ThrottledRetryableChecker)["_THROTTLED_ERROR_CODES"])
READ_ONLY_PREFIXES = ("Describe", "List", "Get", "Search")


@dataclass(frozen=True)
class AwsOptions:
    """How clients are built; one instance per process (or per test)."""

    region: str | None = None  # None: the standard chain (AWS_REGION, profile, ...)
    profile: str | None = None
    retry_mode: Literal["standard", "adaptive"] = "adaptive"
    max_attempts: int = 8
    calls_per_second: float = 10.0  # client-side cap shared by every client of this process
    read_only: bool = False  # refuse any call that is not Describe*/List*/Get*


def check_read_only(operation: str) -> None:
    """Raise unless `operation` is a read; called by the botocore hook in read-only mode."""
    if not operation.startswith(READ_ONLY_PREFIXES):
        raise ReadOnlyViolation(
            f"refused {operation}: this command is read-only (plan) and may only read"
        )


class Clients:
    """A cache of boto3 clients per (service, region), sharing one session and one rate limit."""

    def __init__(self, options: AwsOptions | None = None) -> None:
        self.options = options or AwsOptions()
        self._session = boto3.session.Session(
            profile_name=self.options.profile, region_name=self.options.region
        )
        self._bucket = TokenBucket(self.options.calls_per_second, burst=5)
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        # callables(service, operation, outcome) told of every call once botocore's retries are
        # done; outcome is success, throttled or error.
        self.observers: list[Any] = []

    @property
    def default_region(self) -> str:
        region = self._session.region_name
        if not region:
            raise ControllerError("no AWS region: set spec.region, AWS_REGION or a profile region")
        return str(region)

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.default_region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._make(service, key[1])
            return self._clients[key]

    def sagemaker(self, region: str | None = None) -> Any:
        return self.client("sagemaker", region)

    def _make(self, service: str, region: str) -> Any:
        config = botocore.config.Config(
            retries={"mode": self.options.retry_mode, "max_attempts": self.options.max_attempts},
            connect_timeout=5,
            read_timeout=30,
            user_agent_extra="sagemaker-gitops",
        )
        session: Any = self._session
        client = session.client(service, region_name=region, config=config)
        events = client.meta.events
        events.register("before-send", self._throttle)
        events.register("before-call", self._before_call)
        events.register("after-call", self._after_call)
        # after-call-error carries no operation model: the client knows its service, the event
        # name ends with the operation.
        events.register(
            "after-call-error",
            lambda event_name, **_: self._observe(service, event_name.rsplit(".", 1)[-1], "error"),
        )
        return client

    def _throttle(self, **_: Any) -> None:
        self._bucket.acquire()

    def _before_call(self, model: Any, **_: Any) -> None:
        if self.options.read_only:
            check_read_only(model.name)

    def _after_call(self, model: Any, http_response: Any, parsed: Any, **_: Any) -> None:
        """Emitted for error responses too (botocore raises after it): classify by code."""
        if http_response.status_code < 300:
            outcome = "success"
        else:
            code = (parsed or {}).get("Error", {}).get("Code", "")
            outcome = "throttled" if code in THROTTLING_CODES else "error"
        self._observe(model.service_model.service_name, model.name, outcome)

    def _observe(self, service: str, operation: str, outcome: str) -> None:
        for observer in self.observers:
            observer(service, operation, outcome)
