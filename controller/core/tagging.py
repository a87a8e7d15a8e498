"""The controller's ownership tags and the rules for comparing them.

Only resources carrying `sagemaker-gitops/managed-by` with this controller's id are ever changed
or deleted. Bookkeeping tags (source, revision, spec-hash, attempted config) record history and
are refreshed when a real change is made, but never count as drift: a new git commit that does
not touch an endpoint must not cause a write to it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

PREFIX = "sagemaker-gitops/"
MANAGED_BY = PREFIX + "managed-by"
ENDPOINT = PREFIX + "endpoint"
SOURCE = PREFIX + "source"
REVISION = PREFIX + "revision"
SPEC_HASH = PREFIX + "spec-hash"
ATTEMPTED_CONFIG = PREFIX + "attempted-config"
# On inference components: the specification last sent, so a rolled-back update is recognised.
ATTEMPTED_SPEC = PREFIX + "attempted-spec"
# On a component's Models: the component they were made for (kept out of endpoint GC).
COMPONENT = PREFIX + "component"
# Which manifest tree (repo + path, or --scope) created the resource: prune only ever deletes
# endpoints of the current run's scope. Significant (not bookkeeping), so re-applying an endpoint
# whose tags predate scopes writes it: that is how old endpoints are adopted into a scope.
SCOPE = PREFIX + "scope"
# The configs that were live on the endpoint before the current one, newest first, separated by
# spaces: the rollback history garbage collection keeps (see controller/core/endpoint/history.py).
HISTORY = PREFIX + "history"
# On the endpoint: a config whose rollout SageMaker rolled back. Kept because FailureReason may
# be cleared by a later change (a capacity heal), after which the failed config would otherwise
# look like a hand edit and be rolled out again, provisioning instances each time.
FAILED_CONFIG = PREFIX + "failed-config"
# The project (`projects:` in the repo config) whose manifest deploys the resource: another
# project's manifest naming the same endpoint is a conflict, not a takeover.
PROJECT = PREFIX + "project"
# On the endpoint: the LastModifiedTime (epoch ms) it had when the controller last saw it
# InService and in sync with its manifest. A cold plan trusts an endpoint whose listing shows
# the same time and whose spec hash and attempted config still match: no DescribeEndpoint.
OBSERVED = PREFIX + "observed"
# Its value while a change the controller made has not been seen settled yet: the pass that sees
# it settled records the time (one AddTags per change, never on a no-op pass otherwise).
OBSERVED_PENDING = "pending"

# Tags refreshed on change but ignored when deciding whether anything changed.
BOOKKEEPING = frozenset(
    {
        SOURCE,
        REVISION,
        SPEC_HASH,
        ATTEMPTED_CONFIG,
        ATTEMPTED_SPEC,
        HISTORY,
        FAILED_CONFIG,
        OBSERVED,
    }
)
# SageMaker's tag value length limit (botocore: TagValue, max 256). Registry metadata values
# (CustomerMetadataValue) have the same limit and pattern.
MAX_VALUE = 256
NOT_ALLOWED = re.compile(r"[^\w .:/=+\-@]")
"""What SageMaker's tag value pattern refuses (it allows letters, digits, spaces and
_ . : / = + - @): scopes are checked and fitted with it, stage verdicts fitted."""


def to_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """The SageMaker `Tags` shape, sorted so requests are deterministic."""
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def from_list(tags: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Tags as a dict; keys and values interned: the owned index holds a tag dict per resource,
    and its keys (and most values: controller id, scope, revision) repeat across the fleet."""
    return {sys.intern(str(t["Key"])): sys.intern(str(t.get("Value", ""))) for t in tags}


def owned_by(tags: Mapping[str, str] | None, controller_id: str) -> bool:
    return tags is not None and tags.get(MANAGED_BY) == controller_id


def significant(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags whose difference is a real change (user tags and ownership)."""
    return {k: v for k, v in tags.items() if k not in BOOKKEEPING and not k.startswith("aws:")}


def tag_delta(
    desired: Mapping[str, str], live: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """What AddTags and DeleteTags must do so the significant tags match.

    Keys under `aws:` belong to AWS and can be neither set nor removed.
    """
    want, have = significant(desired), significant(live)
    to_set = {k: v for k, v in want.items() if have.get(k) != v}
    # A run without a scope (a library caller) never strips the scope another run wrote.
    to_remove = sorted(k for k in have if k not in want and not (k == SCOPE and SCOPE not in want))
    return to_set, to_remove


def scope_change(
    desired: Mapping[str, str], live: Mapping[str, str] | None
) -> tuple[str, str] | None:
    """(live scope, desired scope) when applying would move a resource from one scope to
    another: another manifest tree deploys it. None when the scopes agree, or when either side
    has none (tags predating scopes are adopted by a plain re-apply; a run without a scope never
    rewrites one)."""
    theirs, ours = (live or {}).get(SCOPE), desired.get(SCOPE)
    return (theirs, ours) if theirs and ours and theirs != ours else None


def project_change(
    desired: Mapping[str, str], live: Mapping[str, str] | None
) -> tuple[str, str] | None:
    """(live project, desired project) when applying would move an endpoint from one project
    to another. None when they agree, or when either side has none (an endpoint deployed before
    projects joins its project on the next apply; without projects nothing is enforced)."""
    theirs, ours = (live or {}).get(PROJECT), desired.get(PROJECT)
    return (theirs, ours) if theirs and ours and theirs != ours else None
