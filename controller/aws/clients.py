"""The one place boto3 clients are made: retry mode, client-side rate limit, read-only guard.

The endpoint comes from the standard AWS configuration chain (AWS_ENDPOINT_URL,
AWS_ENDPOINT_URL_SAGEMAKER, profiles), so the local sandbox and real AWS look the same to the
rest of the controller. Everything else receives a `Clients` and never builds its own.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import boto3
import botocore.config

from controller.aws.ratelimit import TokenBucket
from controller.aws.targets import TargetSession
from controller.errors import ControllerError, ReadOnlyViolation
from controller.manifests.targets import TargetSpec

# Operation name prefixes that never change anything; the plan command allows only these.
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
    """A cache of boto3 clients per (service, location), sharing one session and one rate limit.

    A location is a region (ambient credentials) or the name of a deployment target (its own
    assumed-role session, rate limit and account guard; see `aws.targets`), so everything keyed
    by region works per target unchanged.
    """

    def __init__(self, options: AwsOptions | None = None) -> None:
        self.options = options or AwsOptions()
        self._session = boto3.session.Session(
            profile_name=self.options.profile, region_name=self.options.region
        )
        self._bucket = TokenBucket(self.options.calls_per_second, burst=5)
        self._clients: dict[tuple[str, str], Any] = {}
        self._targets: dict[str, TargetSession] = {}
        self._removed: set[str] = set()  # targets served earlier, gone from the repo
        self._lock = threading.Lock()
        self.observers: list[Any] = []  # callables(service, operation) told of every call

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
        config = botocore.config.Config(
            retries={"mode": self.options.retry_mode, "max_attempts": self.options.max_attempts},
            connect_timeout=5,
            read_timeout=30,
            user_agent_extra="sagemaker-gitops",
        )
        session: Any = target.session if target else self._session
        region = target.spec.region if target else location
        client = session.client(service, region_name=region, config=config)
        events = client.meta.events
        bucket = target.bucket if target else self._bucket
        events.register("before-send", functools.partial(self._throttle, bucket))
        events.register("before-call", functools.partial(self._before_call, target))
        return client

    def _throttle(self, bucket: TokenBucket, **_: Any) -> None:
        bucket.acquire()

    def _before_call(self, target: TargetSession | None, model: Any, **_: Any) -> None:
        if self.options.read_only:
            check_read_only(model.name)
        if target is not None and not model.name.startswith(READ_ONLY_PREFIXES):
            target.check_account(model.name)
        for observer in self.observers:
            observer(model.service_model.service_name, model.name)
