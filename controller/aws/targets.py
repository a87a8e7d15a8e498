"""One AWS session per deployment target: an assumed role, its rate limit, its account guard.

A target's session assumes the target's role with botocore's own refreshable credentials
(`AssumeRoleCredentialFetcher` + `DeferredRefreshableCredentials`): the first call assumes the
role, and botocore refreshes the credentials before they expire, under its own lock, for every
client and worker sharing the session. No timer of ours is involved.

Before any call the session checks that the credentials really act in the target's account
(GetCallerIdentity, once per set of credentials: once per assumed-role session, and once per
process for targets on the ambient credentials): a role ARN pointing at the wrong account, or
ambient credentials of another account, must never deploy there, and a plan, status or promote
must never read an endpoint of the same name in the wrong account and call it the target's.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import boto3
import botocore.credentials
import botocore.session
from botocore.exceptions import BotoCoreError, ClientError

from controller.aws import reading, sessions
from controller.aws.ratelimit import TokenBucket
from controller.errors import AccountMismatch, AwsError, ControllerError
from controller.manifests.targets import TargetSpec


class _Fixed(botocore.credentials.CredentialProvider):
    """Hands botocore the target's refreshable credentials (the only provider of its session)."""

    METHOD = "sagemaker-gitops-target"

    def __init__(self, credentials: botocore.credentials.Credentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> botocore.credentials.Credentials:
        return self._credentials


def caller_account(sts: Any, whose: str) -> str:
    """The account `sts`'s credentials act in; a failure is an AwsError saying whose it was
    (never a raw botocore error: it would escape the per-endpoint error handling)."""
    operation = "GetCallerIdentity"
    try:
        return str(sts.get_caller_identity()["Account"])
    except ClientError as e:
        error = reading.translate(e, operation)
        raise type(error)(f"{whose}: {error}", operation=operation, code=error.code) from e
    except BotoCoreError as e:  # no credentials, no connection
        raise AwsError(f"{whose}: {operation} failed: {e}", operation=operation) from e


def role_for(spec: TargetSpec, read_only: bool) -> str | None:
    """The role a command assumes: `plan` (read-only) prefers the target's planRoleArn."""
    if read_only and spec.plan_role_arn:
        return spec.plan_role_arn
    return spec.role_arn


class TargetSession:
    """The boto3 session, token bucket and verified account of one target; shared by workers."""

    def __init__(
        self,
        name: str,
        spec: TargetSpec,
        base: boto3.session.Session,
        read_only: bool,
        rate: float | None,
        ambient_account: Callable[[], str],
    ) -> None:
        self.name = name
        self.spec = spec
        # The target's own cap, else the process-wide one; None: no client-side cap at all.
        limit = spec.calls_per_second or rate
        self.bucket = TokenBucket(limit, burst=5) if limit else None
        self._base = base
        self._read_only = read_only
        self._session: boto3.session.Session | None = None
        self._account: str | None = None
        self._ambient_account = ambient_account  # shared: the same credentials, asked once
        self._lock = threading.Lock()
        self._identify = threading.Lock()  # one GetCallerIdentity, however many workers ask

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
        core = sessions.core_session()  # the service models of every other session, shared
        core.register_component(
            "credential_provider", botocore.credentials.CredentialResolver([_Fixed(credentials)])
        )
        return boto3.session.Session(botocore_session=core, region_name=self.spec.region)

    def account(self) -> str:
        """The account the credentials act in: asked once, then remembered for the session."""
        if role_for(self.spec, self._read_only) is None:
            return self._ambient_account()
        with self._identify:
            if self._account is None:
                sts = self.session.client("sts")
                self._account = caller_account(sts, f"target {self.name}")
            return self._account

    def check_account(self, operation: str, *, read: bool = False) -> None:
        """Raise AccountMismatch unless the credentials act in the target's account."""
        actual = self.account()
        if actual != self.spec.account_id:
            raise AccountMismatch(
                f"target {self.name}: refused {operation}: the credentials act in account "
                f"{actual}, but the target's accountId is {self.spec.account_id}; nothing was "
                + ("read or changed" if read else "changed")
            )
