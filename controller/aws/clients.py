"""The one place boto3 clients are made: retry mode, client-side rate limit, read-only guard.

The endpoint comes from the standard AWS configuration chain (AWS_ENDPOINT_URL,
AWS_ENDPOINT_URL_SAGEMAKER, profiles), so the local sandbox and real AWS look the same to the
rest of the controller. Everything else receives a `Clients` and never builds its own.

The region follows the AWS CLI v2 and the other SDKs: `--region`, then AWS_REGION, then
AWS_DEFAULT_REGION and the profile. botocore alone reads only the last two, so a CI job that sets
AWS_REGION (GitLab, GitHub's configure-aws-credentials) would otherwise find no region.

A command's `Deadline` (its `--timeout`) bounds every call made here: no HTTP attempt starts after
it, no retry backoff or rate-limit wait outlasts it, and connect/read timeouts never exceed it.

Retries are the controller's (`retrying`: reads and idempotent writes on 5xx, any call on a
throttle, full-jitter backoff), not botocore's, and every account (region or target) has an
`AdaptiveRate` that slows its calls only while slowing down lowers the throttling.
"""

from __future__ import annotations

import functools
import os
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.config
import structlog

from controller.aws import retrying, sessions
from controller.aws.ratelimit import AdaptiveRate, TokenBucket
from controller.aws.targets import TargetSession, caller_account
from controller.deadlines import Deadline, DeadlineExceeded
from controller.errors import ControllerError, ReadOnlyViolation
from controller.manifests.targets import TargetSpec

log = structlog.get_logger(__name__)

THROTTLING_CODES = retrying.THROTTLING_CODES
# Operation name prefixes that never change anything; the plan command allows only these.
READ_ONLY_PREFIXES = retrying.READ_PREFIXES
# botocore makes one attempt and never spends its retry quota: `retrying` decides the rest.
BOTOCORE_RETRIES = {"mode": "standard", "total_max_attempts": 1}
CONNECT_TIMEOUT, READ_TIMEOUT, RATE_LIMIT_WAIT = 5.0, 30.0, 60.0


@dataclass(frozen=True)
class AwsOptions:
    """How clients are built; one instance per process (or per test)."""

    region: str | None = None  # None: the standard chain (AWS_REGION, profile, ...)
    profile: str | None = None
    max_attempts: int = retrying.MAX_ATTEMPTS  # per call, the first attempt included
    # A fixed client-side cap shared by every client of this process; None: no fixed cap (the
    # command's concurrency bounds calls in flight, AdaptiveRate slows down on throttling).
    calls_per_second: float | None = None
    adaptive_rate: bool = True  # pace each account by its throttling (`ratelimit.AdaptiveRate`)
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
            botocore_session=sessions.core_session(),
            profile_name=self.options.profile,
            region_name=resolve_region(self.options.region),
        )
        self.deadline = self.options.deadline or Deadline(None)
        rate = self.options.calls_per_second
        self._bucket = TokenBucket(rate, burst=5) if rate else None
        self._clients: dict[tuple[str, str], Any] = {}
        self._targets: dict[str, TargetSession] = {}
        self._removed: set[str] = set()  # targets served earlier, gone from the repo
        self._pacers: dict[str, AdaptiveRate] = {}  # per location: AWS throttles per account
        self._jitter = random.Random()
        self._lock = threading.Lock()
        self._ambient: str | None = None  # the ambient credentials' account, asked once
        self._identify = threading.Lock()
        # callables(service, operation, outcome) told of every call once its retries are
        # done; outcome is success, throttled or error.
        self.observers: list[Any] = []
        # callables(service, operation, code) told of every retry (code: the AWS error code,
        # or the exception's class name when no answer came).
        self.retry_observers: list[Any] = []

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
                    self._targets[name] = TargetSession(
                        name, spec, self._session, read_only, rate, self.ambient_account
                    )

    def target(self, location: str) -> TargetSpec | None:
        """The target a location names, or None when it is a region."""
        with self._lock:
            session = self._targets.get(location)
        return session.spec if session else None

    def ambient_account(self) -> str:
        """The account of the ambient credentials (GetCallerIdentity once per process); shared
        by the plan's header and every target that assumes no role."""
        with self._identify:
            if self._ambient is None:
                self._ambient = caller_account(self.client("sts"), "the ambient credentials")
            return self._ambient

    def check_account(self, location: str, operation: str) -> None:
        """Raise AccountMismatch unless a target's credentials act in its accountId (a region,
        the ambient credentials' own account, has nothing to check). Checked before an endpoint
        is read, so no command diffs an endpoint of the same name in the wrong account."""
        with self._lock:
            target = self._targets.get(location)
        if target is not None:
            target.check_account(operation, read=True)

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
            retries=BOTOCORE_RETRIES,  # type: ignore[arg-type]
            connect_timeout=min(CONNECT_TIMEOUT, left),
            read_timeout=min(READ_TIMEOUT, left),
            user_agent_extra="sagemaker-gitops",
        )
        session: Any = target.session if target else self._session
        region = target.spec.region if target else location
        client = session.client(service, region_name=region, config=config)
        events = client.meta.events
        bucket = target.bucket if target else self._bucket
        pacer = self._pacers.setdefault(location, AdaptiveRate())
        paced = pacer if self.options.adaptive_rate else None
        events.register("before-send", functools.partial(self._throttle, bucket, paced))
        events.register("before-call", functools.partial(self._before_call, target))
        events.register("after-call", self._after_call)
        # after-call-error carries no operation model: the client knows its service, the event
        # name ends with the operation.
        events.register(
            "after-call-error",
            lambda event_name, **_: self._observe(service, event_name.rsplit(".", 1)[-1], "error"),
        )
        # First among the service's needs-retry handlers (the most specific event name runs
        # first): its answer, a delay or False, is the one botocore follows.
        service_event = client.meta.service_model.service_id.hyphenize()
        events.register_first(
            f"needs-retry.{service_event}", functools.partial(self._needs_retry, pacer)
        )
        return client

    def _throttle(
        self, bucket: TokenBucket | None = None, pacer: AdaptiveRate | None = None, **_: Any
    ) -> None:
        """Every HTTP attempt, retries included: wait for a token (the target's own, or the
        shared one, then the account's adaptive pace), never past the deadline."""
        self.deadline.check("an AWS call")
        for limiter in (bucket or self._bucket, pacer):
            if limiter is None:
                continue
            try:
                limiter.acquire(timeout=min(RATE_LIMIT_WAIT, self.deadline.remaining()))
            except TimeoutError as e:
                if self.deadline.remaining() < RATE_LIMIT_WAIT:
                    # An AdaptiveRate may have lifted its cap (rate None) since the wait began.
                    rate = f"{limiter.rate:g} calls/s" if limiter.rate else "adaptive pace"
                    raise DeadlineExceeded(
                        f"timed out: --timeout {self.deadline.seconds:g}s reached waiting for "
                        f"the rate limit ({rate})"
                    ) from e
                raise ControllerError("rate limiter: no token for an AWS call within 60s") from e

    def _needs_retry(
        self,
        pacer: AdaptiveRate,
        attempts: int,
        operation: Any,
        response: Any = None,
        caught_exception: Exception | None = None,
        **_: Any,
    ) -> float | bool:
        """botocore's question after every attempt: the delay before the next one, or False.

        A connection failure or read timeout that the deadline leaves no time to repeat becomes
        the timeout itself (it says nothing about the endpoint); an error answer is raised as
        is, and the caller reports the timeout.
        """
        http, parsed = response if response is not None else (None, {})
        status = http.status_code if http is not None else None
        code = str((parsed or {}).get("Error", {}).get("Code", ""))
        failure = retrying.classify(status, code, caught_exception)
        pacer.record(failure is retrying.Failure.THROTTLED)
        if failure is None:
            return False
        decision = retrying.decide(
            operation.name,
            failure,
            attempts,
            max_attempts=self.options.max_attempts,
            remaining=self.deadline.remaining(),
            rng=self._jitter,
            # Only while pacing: without it, the backoff is the only thing that slows a sender.
            steady_throttling=self.options.adaptive_rate and pacer.steady_throttling,
        )
        if decision.out_of_time and caught_exception is not None:
            raise DeadlineExceeded(
                f"timed out: --timeout {self.deadline.seconds:g}s reached ({caught_exception})"
            ) from caught_exception
        if not decision.retry:
            return False
        code = code or type(caught_exception).__name__
        service = operation.service_model.service_name
        log.info(
            "aws retry",
            operation=operation.name,
            code=code,
            attempt=attempts,
            delay=round(decision.delay, 3),
        )
        for observer in self.retry_observers:
            observer(service, operation.name, code)
        return decision.delay

    def _before_call(self, target: TargetSession | None, model: Any, **_: Any) -> None:
        if self.options.read_only:
            check_read_only(model.name)
        if target is not None:  # reads too: the wrong account's state is never the target's
            target.check_account(model.name, read=model.name.startswith(READ_ONLY_PREFIXES))

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
