"""The notifications file: which sinks get which events, and where their secrets live.

    sinks:
      - name: team-slack
        type: slack
        url: {env: SLACK_WEBHOOK_URL}          # the incoming-webhook URL is the secret
        events: [RolloutFailed, RolledBack]    # default: every event
      - name: audit
        type: webhook
        url: {file: /var/run/secrets/audit-url}
      - name: commit-status
        type: githubStatus
        repository: acme/ml-endpoints
        token: {env: GITHUB_TOKEN}
        apiUrl: https://github.example.com/api/v3   # default https://api.github.com
    retry: {attempts: 5, initialDelay: 1, maxDelay: 30}
    queueSize: 1000

Secrets are never written in the file itself: `{env: NAME}` or `{file: PATH}` only, resolved
once at load time (a missing variable or file is a `file:line:` error) and held as SecretStr, so
no repr or log line shows them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from yaml.nodes import Node

from controller.errors import Diagnostic, ManifestError
from controller.manifests import yamlpos
from controller.manifests.loading import describe, render_path
from controller.manifests.models import Strict
from controller.service.status.events import EventKind

MAX_BYTES = 64 * 1024


class SecretRef(Strict):
    """Where a secret comes from: exactly one of an environment variable or a file."""

    env: str | None = Field(default=None, min_length=1)
    """Name of an environment variable holding the secret."""
    file: Path | None = None
    """A file holding the secret (surrounding whitespace is stripped), e.g. a mounted Secret."""

    @model_validator(mode="after")
    def _one_source(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env or file")
        return self


class SinkBase(Strict):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    """Shown in logs and the notifications metric; never the URL."""
    events: list[EventKind] = Field(default_factory=lambda: list(EventKind), min_length=1)
    """Events this sink receives (default: all)."""


class SlackSink(SinkBase):
    """A Slack incoming webhook."""

    type: Literal["slack"]
    url: SecretRef


class WebhookSink(SinkBase):
    """Any HTTPS endpoint that accepts the event as JSON (see docs/notifications.md)."""

    type: Literal["webhook"]
    url: SecretRef


class GithubStatusSink(SinkBase):
    """A commit status on the revision the endpoint was rolled out from."""

    type: Literal["githubStatus"]
    repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    """owner/name of the manifest repository."""
    token: SecretRef
    api_url: str = Field(default="https://api.github.com", pattern=r"^https?://")
    """GitHub's REST API base URL; GitHub Enterprise Server: https://HOST/api/v3."""
    context: str = Field(default="sagemaker-gitops", min_length=1, max_length=100)
    """Status context prefix; `/<region>/<endpoint>` is appended."""


_SINK_TYPES = ("slack", "webhook", "githubStatus")
Sink = Annotated[SlackSink | WebhookSink | GithubStatusSink, Field(discriminator="type")]


class Retry(Strict):
    attempts: int = Field(default=5, ge=1, le=20)
    """Deliveries tried per message, the first included."""
    initial_delay: float = Field(default=1.0, gt=0, le=300)
    """Seconds before the first retry; doubled each time (full jitter)."""
    max_delay: float = Field(default=30.0, gt=0, le=3600)


class NotificationsFile(Strict):
    sinks: list[Sink] = Field(min_length=1)
    retry: Retry = Retry()
    queue_size: int = Field(default=1000, ge=1, le=100_000)
    """Messages waiting for delivery; beyond it new ones are dropped (and counted)."""
    timeout: float = Field(default=5.0, gt=0, le=60)
    """Seconds one HTTP request may take."""


@dataclass(frozen=True)
class Notifications:
    """A loaded file with its secrets resolved, by sink name."""

    config: NotificationsFile
    secrets: dict[str, SecretStr]


def load_notifications(path: Path, env: dict[str, str] | None = None) -> Notifications:
    """Read, validate and resolve secrets; every problem is a `file:line: path: message`."""
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ManifestError([Diagnostic(shown, None, "", f"cannot read: {e}")]) from e
    if len(text) > MAX_BYTES:
        raise ManifestError([Diagnostic(shown, None, "", "file is larger than 64 KiB")])
    documents, problems = yamlpos.parse(text)
    if problems:
        raise ManifestError(
            [Diagnostic(shown, p.line, render_path(p.loc), p.message) for p in problems]
        )
    if len(documents) != 1:
        raise ManifestError([Diagnostic(shown, None, "", "expected exactly one YAML document")])
    document = documents[0]
    try:
        config = NotificationsFile.model_validate(document.data)
    except ValidationError as e:
        raise ManifestError([_diagnostic(err, document.node, shown) for err in e.errors()]) from e
    secrets, errors = _resolve(config, document.node, shown, os.environ if env is None else env)
    if errors:
        raise ManifestError(errors)
    return Notifications(config, secrets)


def _diagnostic(error: Any, root: Node, shown: str) -> Diagnostic:
    # Discriminated unions add the tag ("slack") to the location; the file does not have it.
    loc = tuple(p for p in error["loc"] if p not in _SINK_TYPES)
    if error["type"] == "union_tag_invalid":  # pydantic's wording names its internals
        loc = (*loc, "type")
        message = f"unknown sink type {error['ctx']['tag']!r} (known: {', '.join(_SINK_TYPES)})"
    elif error["type"] == "union_tag_not_found":
        loc, message = (*loc, "type"), f"required field is missing ({', '.join(_SINK_TYPES)})"
    else:
        message = describe(error, loc)
    return Diagnostic(shown, yamlpos.line_of(root, loc), render_path(loc), message)


def _resolve(
    config: NotificationsFile, root: Node, shown: str, env: dict[str, str] | os._Environ[str]
) -> tuple[dict[str, SecretStr], list[Diagnostic]]:
    secrets: dict[str, SecretStr] = {}
    errors: list[Diagnostic] = []
    names: set[str] = set()
    for index, sink in enumerate(config.sinks):
        field = "token" if isinstance(sink, GithubStatusSink) else "url"
        loc: yamlpos.Loc = ("sinks", index, field)
        if sink.name in names:
            errors.append(_at(root, shown, ("sinks", index, "name"), "duplicate sink name"))
        names.add(sink.name)
        ref: SecretRef = getattr(sink, field)
        value, problem = _read_secret(ref, env)
        if problem:
            errors.append(_at(root, shown, loc, problem))
        else:
            secrets[sink.name] = SecretStr(value)
    return secrets, errors


def _read_secret(ref: SecretRef, env: dict[str, str] | os._Environ[str]) -> tuple[str, str]:
    """(value, problem); problems name the variable or file, never the value."""
    if ref.env is not None:
        value = env.get(ref.env, "").strip()
        return value, "" if value else f"environment variable {ref.env} is unset or empty"
    assert ref.file is not None
    try:
        value = ref.file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        return "", f"cannot read secret file {ref.file}: {getattr(e, 'strerror', None) or e}"
    return value, "" if value else f"secret file {ref.file} is empty"


def _at(root: Node, shown: str, loc: yamlpos.Loc, message: str) -> Diagnostic:
    return Diagnostic(shown, yamlpos.line_of(root, loc), render_path(loc), message)
