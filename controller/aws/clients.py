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

import functools
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import boto3
import botocore.config
from botocore.retries.standard import ThrottledRetryableChecker

from controller.aws.ratelimit import TokenBucket
from controller.aws.targets import TargetSession
from controller.deadlines import Deadline, DeadlineExceeded
from controller.errors import ControllerError, ReadOnlyViolation
from controller.manifests.targets import TargetSpec

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
    """A cache of boto3 clients per (service, location), sharing one session and one rate limit.

    A location is a region (ambient credentials) or the name of a deployment target (its own
    assumed-role session, rate limit and account guard; see `aws.targets`), so everything keyed
    by region works per target unchanged.
    """

    def __init__(self, options: AwsOptions | None = None) -> None:
        self.options = options or AwsOptions()
        self._session = boto3.session.Session(
            profile_name=self.options.profile, region_name=resolve_region(self.options.region)
        )
        self.deadline = self.options.deadline or Deadline(None)
        self._bucket = TokenBucket(self.options.calls_per_second, burst=5)
        self._clients: dict[tuple[str, str], Any] = {}
        self._targets: dict[str, TargetSession] = {}
        self._removed: set[str] = set()  # targets served earlier, gone from the repo
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

    def set_targets(self, targets: Mapping[str, TargetSpec]) -> None:
        """Use these target definitions; a changed one gets a new session, a removed one is
        remembered so its name is never mistaken for a region."""
        with self._lock:
            for name, session in list(self._targets.items()):
                if targets.get(name) != session.spec:
                    del self._targets[name]
                    self._clients = {k: c for k, c in self._clients.items() if k[1] != name}
                    if name not in targets:
                        self._removed.add(name)
            for name, spec in targets.items():
                self._removed.discard(name)
                if name not in self._targets:
                    rate, read_only = self.options.calls_per_second, self.options.read_only
                    self._targets[name] = TargetSession(name, spec, self._session, read_only, rate)

    def target(self, location: str) -> TargetSpec | None:
        """The target a location names, or None when it is a region."""
        with self._lock:
            session = self._targets.get(location)
        return session.spec if session else None

    def removed_targets(self) -> set[str]:
        with self._lock:
            return set(self._removed)

    def sagemaker(self, region: str | None = None) -> Any:
        return self.client("sagemaker", region)

    def _make(self, service: str, location: str) -> Any:
        if location in self._removed:
            raise ControllerError(f"target {location} is no longer defined in the manifests")
        target = self._targets.get(location)
        left = max(0.1, self.deadline.remaining())
        config = botocore.config.Config(
            retries={"mode": self.options.retry_mode, "max_attempts": self.options.max_attempts},
            connect_timeout=min(CONNECT_TIMEOUT, left),
            read_timeout=min(READ_TIMEOUT, left),
            user_agent_extra="sagemaker-gitops",
        )
        session: Any = target.session if target else self._session
        region = target.spec.region if target else location
        client = session.client(service, region_name=region, config=config)
        events = client.meta.events
        bucket = target.bucket if target else self._bucket
        events.register("before-send", functools.partial(self._throttle, bucket))
        events.register("before-call", functools.partial(self._before_call, target))
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

    def _throttle(self, bucket: TokenBucket | None = None, **_: Any) -> None:
        """Every HTTP attempt, retries included: wait for a token (the target's own, or the
        shared one), never past the deadline."""
        self.deadline.check("an AWS call")
        try:
            wait = min(RATE_LIMIT_WAIT, self.deadline.remaining())
            (bucket or self._bucket).acquire(timeout=wait)
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

    def _before_call(self, target: TargetSession | None, model: Any, **_: Any) -> None:
        if self.options.read_only:
            check_read_only(model.name)
        if target is not None and not model.name.startswith(READ_ONLY_PREFIXES):
            target.check_account(model.name)

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
