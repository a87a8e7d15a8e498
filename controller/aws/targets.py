"""One AWS session per deployment target: an assumed role, its rate limit, its account guard.

A target's session assumes the target's role with botocore's own refreshable credentials
(`AssumeRoleCredentialFetcher` + `DeferredRefreshableCredentials`): the first call assumes the
role, and botocore refreshes the credentials before they expire, under its own lock, for every
client and worker sharing the session. No timer of ours is involved.

Before any mutating call the session checks that the credentials really act in the target's
account (GetCallerIdentity, once per session): a role ARN pointing at the wrong account, or
ambient credentials of another account, must never deploy there.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import boto3
import botocore.credentials
import botocore.session

from controller.aws.ratelimit import TokenBucket
from controller.errors import AccountMismatch, ControllerError
from controller.manifests.targets import TargetSpec


class _Fixed(botocore.credentials.CredentialProvider):
    """Hands botocore the target's refreshable credentials (the only provider of its session)."""

    METHOD = "sagemaker-gitops-target"

    def __init__(self, credentials: botocore.credentials.Credentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> botocore.credentials.Credentials:
        return self._credentials


def role_for(spec: TargetSpec, read_only: bool) -> str | None:
    """The role a command assumes: `plan` (read-only) prefers the target's planRoleArn."""
    if read_only and spec.plan_role_arn:
        return spec.plan_role_arn
    return spec.role_arn


class TargetSession:
    """The boto3 session, token bucket and verified account of one target; shared by workers."""

    def __init__(
        self, name: str, spec: TargetSpec, base: boto3.session.Session, read_only: bool, rate: float
    ) -> None:
        self.name = name
        self.spec = spec
        self.bucket = TokenBucket(spec.calls_per_second or rate, burst=5)
        self._base = base
        self._read_only = read_only
        self._session: boto3.session.Session | None = None
        self._account: str | None = None
        self._lock = threading.Lock()

    @property
    def session(self) -> boto3.session.Session:
        """Made on first use: defining a target costs nothing until an endpoint needs it."""
        with self._lock:
            if self._session is None:
                self._session = self._make_session(self._base, self._read_only)
            return self._session

    def _make_session(self, base: boto3.session.Session, read_only: bool) -> boto3.session.Session:
        role = role_for(self.spec, read_only)
        if role is None:
            return base  # ambient credentials, still held to the target's account
        source = base.get_credentials()
        if source is None:
            raise ControllerError(f"target {self.name}: no AWS credentials to assume {role} with")
        extra: dict[str, Any] = {"RoleSessionName": self.spec.session_name}
        if self.spec.external_id:
            extra["ExternalId"] = self.spec.external_id
        if self.spec.session_duration:
            extra["DurationSeconds"] = self.spec.session_duration
        fetcher = botocore.credentials.AssumeRoleCredentialFetcher(
            client_creator=functools.partial(base.client, region_name=self.spec.region),
            source_credentials=source,
            role_arn=role,
            extra_args=extra,
        )
        credentials = botocore.credentials.DeferredRefreshableCredentials(
            refresh_using=fetcher.fetch_credentials, method="assume-role"
        )
        core = botocore.session.Session()
        core.register_component(
            "credential_provider", botocore.credentials.CredentialResolver([_Fixed(credentials)])
        )
        return boto3.session.Session(botocore_session=core, region_name=self.spec.region)

    def check_account(self, operation: str) -> None:
        """Raise AccountMismatch unless the credentials act in the target's account."""
        if self._account is None:
            identity = self.session.client("sts").get_caller_identity()
            with self._lock:
                self._account = str(identity["Account"])
        actual = self._account
        if actual != self.spec.account_id:
            raise AccountMismatch(
                f"target {self.name}: refused {operation}: the credentials act in account "
                f"{actual}, but the target's accountId is {self.spec.account_id}; nothing was "
                "changed"
            )
