"""The one place boto3 clients are made: retry mode, client-side rate limit, read-only guard.

The endpoint comes from the standard AWS configuration chain (AWS_ENDPOINT_URL,
AWS_ENDPOINT_URL_SAGEMAKER, profiles), so the local sandbox and real AWS look the same to the
rest of the controller. Everything else receives a `Clients` and never builds its own.

The region follows the AWS CLI v2 and the other SDKs: `--region`, then AWS_REGION, then
AWS_DEFAULT_REGION and the profile. botocore alone reads only the last two, so a CI job that sets
AWS_REGION (GitLab, GitHub's configure-aws-credentials) would otherwise find no region.

A command's `Deadline` (its `--timeout`) bounds every call made here: no HTTP attempt starts after
it, no retry backoff or rate-limit wait outlasts it, and connect/read timeouts never exceed it.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Literal

import boto3
import botocore.config
from botocore.retries.standard import ThrottledRetryableChecker

from controller.aws.ratelimit import TokenBucket
from controller.deadlines import Deadline, DeadlineExceeded
from controller.errors import ControllerError, ReadOnlyViolation

# Operation name prefixes that never change anything; the plan command allows only these.
# botocore's own list of codes its retry logic treats as throttling: the truth for the label.
THROTTLING_CODES = frozenset(vars(ThrottledRetryableChecker)["_THROTTLED_ERROR_CODES"])
READ_ONLY_PREFIXES = ("Describe", "List", "Get", "Search")
# botocore's longest retry backoff (standard and adaptive modes; 1 s base for throttling errors).
MAX_RETRY_BACKOFF = 20.0
CONNECT_TIMEOUT, READ_TIMEOUT, RATE_LIMIT_WAIT = 5.0, 30.0, 60.0


@dataclass(frozen=True)
class AwsOptions:
    """How clients are built; one instance per process (or per test)."""

    region: str | None = None  # None: the standard chain (AWS_REGION, profile, ...)
    profile: str | None = None
    retry_mode: Literal["standard", "adaptive"] = "adaptive"
    max_attempts: int = 8
    calls_per_second: float = 10.0  # client-side cap shared by every client of this process
    read_only: bool = False  # refuse any call that is not Describe*/List*/Get*
    deadline: Deadline | None = None  # the command's --timeout; None: unbounded


def resolve_region(explicit: str | None, environ: dict[str, str] | None = None) -> str | None:
    """`--region`, else AWS_REGION; None leaves AWS_DEFAULT_REGION and the profile to botocore."""
    env = os.environ if environ is None else environ
    return explicit or env.get("AWS_REGION") or None


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
            profile_name=self.options.profile, region_name=resolve_region(self.options.region)
        )
        self.deadline = self.options.deadline or Deadline(None)
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
            raise ControllerError(
                "no AWS region: set --region, spec.region, AWS_REGION, AWS_DEFAULT_REGION "
                "or a profile region"
            )
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
        left = max(0.1, self.deadline.remaining())
        config = botocore.config.Config(
            retries={"mode": self.options.retry_mode, "max_attempts": self.options.max_attempts},
            connect_timeout=min(CONNECT_TIMEOUT, left),
            read_timeout=min(READ_TIMEOUT, left),
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
        # First among the service's own needs-retry handlers (the most specific event name runs
        # first), so its False ("do not retry") wins over botocore's backoff delay.
        service_event = client.meta.service_model.service_id.hyphenize()
        events.register_first(f"needs-retry.{service_event}", self._retry_within_deadline)
        return client

    def _throttle(self, **_: Any) -> None:
        """Every HTTP attempt, retries included: wait for a token, never past the deadline."""
        self.deadline.check("an AWS call")
        try:
            self._bucket.acquire(timeout=min(RATE_LIMIT_WAIT, self.deadline.remaining()))
        except TimeoutError as e:
            if self.deadline.remaining() < RATE_LIMIT_WAIT:
                raise DeadlineExceeded(
                    f"timed out: --timeout {self.deadline.seconds:g}s reached waiting for the "
                    f"rate limit (--calls-per-second {self.options.calls_per_second:g})"
                ) from e
            raise ControllerError("rate limiter: no token for an AWS call within 60s") from e

    def _retry_within_deadline(
        self, attempts: int, caught_exception: Exception | None = None, **_: Any
    ) -> bool | None:
        """False (no retry) when botocore's next backoff could outlast the deadline.

        The backoff before attempt n+1 is at most min(2**(n-1), 20) seconds. An error response
        is then raised as is (the caller sees a throttle or a 5xx and reports the timeout); a
        connection failure or read timeout, which says nothing about the endpoint, becomes the
        timeout itself.
        """
        worst = min(2.0 ** (attempts - 1), MAX_RETRY_BACKOFF)
        if self.deadline.remaining() >= worst:
            return None
        if caught_exception is not None:
            raise DeadlineExceeded(
                f"timed out: --timeout {self.deadline.seconds:g}s reached ({caught_exception})"
            ) from caught_exception
        return False

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
