"""Each sink's HTTP request for one event: pure functions, so payloads are tested as data.

Slack gets mrkdwn text (with &, <, > escaped: an endpoint name or error message cannot forge a
link or a mention); the generic webhook gets the event as JSON (`schemaVersion` 1); GitHub gets a
commit status on the event's revision, which must be a full commit SHA. When the service deploys
to more than one target or region, Slack and GitHub name the endpoint's target and region beside
its name (two endpoints may share a name); the webhook always carries `target` and `region`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from controller.service.notifications.config import GithubStatusSink, SlackSink, WebhookSink
from controller.service.status.events import Event, EventKind
from controller.service.status.locations import Location

SCHEMA_VERSION = 1
_SHA = re.compile(r"^[0-9a-f]{40}$")
_GITHUB_STATE = {
    EventKind.ROLLOUT_STARTED: "pending",
    EventKind.ROLLOUT_SUCCEEDED: "success",
    EventKind.ROLLOUT_FAILED: "failure",
    EventKind.ROLLED_BACK: "failure",
    EventKind.DRIFT_HEALED: "success",
    EventKind.STAGE_VERIFIED: "success",
    EventKind.STAGE_FAILED: "failure",
    EventKind.STAGE_INCONCLUSIVE: "pending",
    EventKind.PROMOTED: "success",
    EventKind.STAGE_ROLLED_BACK: "failure",
}
_TITLE = {
    EventKind.ROLLOUT_STARTED: "rollout started",
    EventKind.ROLLOUT_SUCCEEDED: "rollout succeeded",
    EventKind.ROLLOUT_FAILED: "rollout failed",
    EventKind.ROLLED_BACK: "rollout failed and was rolled back",
    EventKind.DRIFT_HEALED: "drift healed",
    EventKind.STAGE_VERIFIED: "verified",
    EventKind.STAGE_FAILED: "failed verification: held",
    EventKind.STAGE_INCONCLUSIVE: "inconclusive: a human decides",
    EventKind.PROMOTED: "promotion written",
    EventKind.STAGE_ROLLED_BACK: "revert written",
}
_EMOJI = {
    EventKind.ROLLOUT_STARTED: ":rocket:",
    EventKind.ROLLOUT_SUCCEEDED: ":white_check_mark:",
    EventKind.ROLLOUT_FAILED: ":x:",
    EventKind.ROLLED_BACK: ":leftwards_arrow_with_hook:",
    EventKind.DRIFT_HEALED: ":wrench:",
    EventKind.STAGE_VERIFIED: ":white_check_mark:",
    EventKind.STAGE_FAILED: ":no_entry:",
    EventKind.STAGE_INCONCLUSIVE: ":hourglass:",
    EventKind.PROMOTED: ":arrow_right:",
    EventKind.STAGE_ROLLED_BACK: ":leftwards_arrow_with_hook:",
}
GITHUB_DESCRIPTION_MAX = 140  # GitHub truncates longer descriptions; we do it ourselves


@dataclass(frozen=True)
class Request:
    url: str
    body: bytes
    headers: dict[str, str]


def title(event: Event) -> str:
    if event.stage is not None:
        return f"{event.stage.group} v{event.stage.version} {_TITLE[event.kind]}"
    return _TITLE[event.kind]


def webhook_payload(event: Event) -> dict[str, Any]:
    return {
        "schemaVersion": SCHEMA_VERSION,
        "event": event.kind.value,
        "endpoint": event.endpoint,
        "target": event.target,
        "region": event.region,
        "revision": event.revision,
        "reason": event.reason,
        "message": event.message,
        "manifest": event.manifest,
        "models": event.models,
        "time": event.time,
        **(
            {
                "pipeline": event.stage.pipeline,
                "stage": event.stage.stage,
                "group": event.stage.group,
                "version": event.stage.version,
            }
            if event.stage is not None
            else {}
        ),
    }


def slack_payload(event: Event) -> dict[str, Any]:
    revision = f" at `{_slack((event.revision or '')[:7])}`" if event.revision else ""
    models = ", ".join(f"{_slack(v)}: {_slack(m)}" for v, m in event.models.items())
    lines = [
        f"{_EMOJI[event.kind]} *{_slack(event.endpoint)}* ({_slack(where(event))}) "
        f"{title(event)}{revision}",
    ]
    if models:
        lines.append(f"models: {models}")
    if event.message:
        lines.append(f"> {_slack(event.message)}")
    return {"text": "\n".join(lines)}


def github_payload(sink: GithubStatusSink, event: Event) -> dict[str, Any]:
    place = f" ({where(event)})" if event.several_locations else ""
    description = f"{event.endpoint}{place}: {title(event)}"
    failures = (EventKind.ROLLOUT_FAILED, EventKind.ROLLED_BACK, EventKind.STAGE_FAILED)
    if event.kind in failures and event.message:
        description += f": {event.message}"
    if len(description) > GITHUB_DESCRIPTION_MAX:
        description = description[: GITHUB_DESCRIPTION_MAX - 1] + "\u2026"
    return {
        "state": _GITHUB_STATE[event.kind],
        "description": description,
        # The key's location (target name or region): unique, and unchanged for region-only
        # endpoints, so the statuses GitHub already shows keep their context.
        "context": f"{sink.context}/{event.location}/{event.endpoint}",
    }


def where(event: Event) -> str:
    """The region, or with several locations `target, region` (`default` has no name shown)."""
    if not event.several_locations:
        return event.region
    return Location(event.target, event.region).describe()


def slack_request(url: str, event: Event) -> Request:
    return _json_request(url, slack_payload(event), {})


def webhook_request(url: str, event: Event) -> Request:
    return _json_request(url, webhook_payload(event), {})


def github_request(sink: GithubStatusSink, token: str, event: Event) -> Request | None:
    """None when the revision is not a commit SHA (a local directory without git)."""
    sha = (event.revision or "").lower()
    if not _SHA.match(sha):
        return None
    owner, name = sink.repository.split("/", 1)
    url = (
        f"{sink.api_url.rstrip('/')}/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
        f"/statuses/{sha}"
    )
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    return _json_request(url, github_payload(sink, event), headers)


def build_request(
    sink: SlackSink | WebhookSink | GithubStatusSink, secret: str, event: Event
) -> Request | None:
    if isinstance(sink, SlackSink):
        return slack_request(secret, event)
    if isinstance(sink, WebhookSink):
        return webhook_request(secret, event)
    return github_request(sink, secret, event)


def _json_request(url: str, payload: dict[str, Any], headers: dict[str, str]) -> Request:
    body = json.dumps(payload, sort_keys=True).encode()
    return Request(
        url,
        body,
        {
            "Content-Type": "application/json",
            "User-Agent": "sagemaker-gitops",
            **headers,
        },
    )


def _slack(text: str) -> str:
    """Slack's mrkdwn escaping: only &, < and > are control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
