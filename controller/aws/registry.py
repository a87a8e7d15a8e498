"""Model Registry lookups: which versions a model package group has and whether they are Approved.

A group may be named by ARN when it lives in a registry account that shares it (resource policy):
ListModelPackages and DescribeModelPackage accept the ARN and answer from the owning account.

A no-op pass costs one ListModelPackages listing per group (all pages), because approval status
can change at any time; package contents never change under an ARN, so descriptions are cached
for the life of the process. ListModelPackages answers an unknown group with an empty list, so
only then (the error path) are the group names listed, once per pass, to tell "does not exist"
(with the closest names) from "has no versions".
"""

from __future__ import annotations

import difflib
import threading
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from controller.core.packages import PackageVersion
from controller.errors import ResolutionError
from controller.keyedlocks import KeyedLocks

# A failed lookup re-lists a group whose cached listing is older than this (seconds).
RELIST_AFTER = 5.0


def list_versions(client: Any, group: str) -> dict[int, PackageVersion]:
    """Every version of `group`, across all pages of ListModelPackages."""
    versions: dict[int, PackageVersion] = {}
    paginator = client.get_paginator("list_model_packages")
    pages = paginator.paginate(ModelPackageGroupName=group, ModelPackageType="Versioned")
    for page in pages:
        for summary in page.get("ModelPackageSummaryList", []):
            number = summary.get("ModelPackageVersion")
            if number is None:
                continue
            created = summary.get("CreationTime")
            versions[int(number)] = PackageVersion(
                group=group,
                version=int(number),
                arn=summary["ModelPackageArn"],
                approval=summary.get("ModelApprovalStatus", "PendingManualApproval"),
                created=created.date().isoformat() if hasattr(created, "date") else "",
            )
    return versions


def list_group_names(client: Any) -> list[str]:
    """Every model package group in the region, across all pages of ListModelPackageGroups."""
    paginator = client.get_paginator("list_model_package_groups")
    return [
        summary["ModelPackageGroupName"]
        for page in paginator.paginate()
        for summary in page.get("ModelPackageGroupSummaryList", [])
    ]


def empty_group_error(group: str, region: str, names: list[str] | None) -> ResolutionError:
    """Why a group listed no versions: it does not exist (and which names are close), or it is
    empty. `names` is None when the group names could not be listed."""
    if names is None:
        return ResolutionError(f"model package group {group!r} does not exist or has no versions")
    if group in names:
        return ResolutionError(f"model package group {group!r} has no versions")
    close = difflib.get_close_matches(group, names, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(n) for n in close)}?" if close else ""
    return ResolutionError(f"model package group {group!r} does not exist in {region}{hint}")


def choose(versions: dict[int, PackageVersion], group: str, version: int) -> PackageVersion:
    """The pinned version, or a ResolutionError saying exactly why it cannot be deployed."""
    found = versions.get(version)
    if found is None:
        known = ", ".join(str(v) for v in sorted(versions)[-5:]) or "none"
        raise ResolutionError(
            f"model package group {group!r} has no version {version} (latest versions: {known})"
        )
    if not found.approved:
        raise ResolutionError(
            f"{group} version {version} is {found.approval}, not Approved; approve it in the "
            "Model Registry or pin an Approved version"
        )
    return found


class Registry:
    """Per-pass cache of group listings, shared by every endpoint planned in that pass."""

    def __init__(self) -> None:
        self._listings: dict[tuple[str, str], dict[int, PackageVersion] | ResolutionError] = {}
        self._listed_at: dict[tuple[str, str], float] = {}
        self._listed_for: dict[tuple[str, str], int] = {}
        """The version whose lookup made each listing."""
        self._fetching = KeyedLocks()
        self._descriptions: dict[str, dict[str, Any]] = {}
        self._group_names: dict[str, list[str] | None] = {}
        self._lock = threading.Lock()

    def new_pass(self) -> None:
        """Forget listings so approval changes are seen; descriptions stay (they never change)."""
        with self._lock:
            self._listings.clear()
            self._group_names.clear()

    def resolve(self, client: Any, region: str, group: str, version: int) -> PackageVersion:
        try:
            return choose(self._versions(client, region, group, version), group, version)
        except ResolutionError:
            # A listing cached earlier may predate an approval or a new version (the usual
            # reason a manifest was just edited, or `run --promote` just promoted it): look
            # once more before failing, unless the listing is recent and was already made
            # for this very version (many endpoints pinning one unapproved version list once).
            with self._lock:
                age = time.monotonic() - self._listed_at.get((region, group), 0.0)
                asked = self._listed_for.get((region, group)) == version
            if age < RELIST_AFTER and asked:
                raise
            fresh = self._versions(client, region, group, version, fresh=True)
            return choose(fresh, group, version)

    def _versions(
        self, client: Any, region: str, group: str, version: int, fresh: bool = False
    ) -> dict[int, PackageVersion]:
        key = (region, group)
        with self._fetching(key):
            return self._versions_locked(client, key, version, fresh)

    def _versions_locked(
        self, client: Any, key: tuple[str, str], version: int, fresh: bool
    ) -> dict[int, PackageVersion]:
        region, group = key
        with self._lock:
            cached = None if fresh else self._listings.get(key)
        if cached is None:
            try:
                cached = list_versions(client, group)
            except client.exceptions.ResourceNotFound as e:
                cached = ResolutionError(f"model package group {group!r} not found: {e}")
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") != "AccessDeniedException":
                    raise
                # A registry in another account that does not share the group with this one:
                # the manifest or the group's resource policy must change, retrying cannot help.
                message = e.response["Error"].get("Message", "")
                cached = ResolutionError(f"model package group {group!r}: access denied: {message}")
            if not isinstance(cached, ResolutionError) and not cached:
                # A group ARN of another account: its account's group names cannot be listed.
                names = None if group.startswith("arn:") else self._names(client, region)
                cached = empty_group_error(group, region, names)
            with self._lock:
                self._listings[key] = cached
                self._listed_at[key] = time.monotonic()
                self._listed_for[key] = version
        if isinstance(cached, ResolutionError):
            raise cached
        return cached

    def _names(self, client: Any, region: str) -> list[str] | None:
        """The region's group names, listed at most once per pass; None if they cannot be
        listed (e.g. a policy without ListModelPackageGroups: the message is then vaguer)."""
        with self._fetching(("groups", region)):
            with self._lock:
                if region in self._group_names:
                    return self._group_names[region]
            try:
                names: list[str] | None = list_group_names(client)
            except (ClientError, BotoCoreError):
                names = None
            with self._lock:
                self._group_names[region] = names
            return names

    def describe(self, client: Any, arn: str) -> dict[str, Any]:
        """DescribeModelPackage, cached forever (only used for reviewer notes)."""
        with self._lock:
            hit = self._descriptions.get(arn)
        if hit is None:
            hit = dict(client.describe_model_package(ModelPackageName=arn))
            with self._lock:
                self._descriptions[arn] = hit
        return hit
