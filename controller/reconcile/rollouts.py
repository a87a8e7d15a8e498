"""What a rollout brings besides the endpoint update: the rollback alarms its DeploymentConfig
names (`autoRollbackConfiguration.fromPipeline`), put before it and deleted after it once no
longer named, and deleted with an endpoint the controller deletes.

Read only when needed: one DescribeAlarms by the endpoint's name prefix per rollout of an
endpoint with a `deployment` (between rollouts nothing watches the alarms, so nothing reads
them), tags only for an alarm that would change.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

from controller.aws import alarms as alarm_reads
from controller.aws.clients import Clients
from controller.core import kinds, rollbackactions, rollbackalarms
from controller.core.endpoint.desired import DesiredEndpoint
from controller.core.plan.plans import Action, EndpointPlan, Reason
from controller.core.scaling.model import LiveAlarm


def with_rollback_alarms(
    clients: Clients, owner: str, region: str, want: DesiredEndpoint, plan: EndpointPlan
) -> EndpointPlan:
    """`plan` with the puts and deletes of the endpoint's rollback alarms, when it rolls out."""
    if not any(a.call == "update_endpoint" for a in plan.actions):
        return plan
    if not want.rollback_alarms and want.manifest.spec.deployment is None:
        # Without a DeploymentConfig nothing names alarms; alarms an earlier config named are
        # deleted by the next rollout that has one, or with the endpoint.
        return plan
    live, tags = _live(clients, region, want.name)
    found, warnings = rollbackactions.actions(want.name, want.rollback_alarms, live, owner, tags)
    if not found and not warnings:
        return plan
    return dataclasses.replace(
        plan, actions=plan.actions + tuple(found), warnings=plan.warnings + tuple(warnings)
    )


def rollback_teardown(clients: Clients, owner: str, region: str, name: str) -> list[Action]:
    """Deletes of the rollback alarms this controller put for an endpoint it deletes."""
    live, tags = _live(clients, region, name)
    found, _ = rollbackactions.actions(name, (), live, owner, tags)
    return [dataclasses.replace(a, reason=Reason.MANIFEST_REMOVED) for a in found]


def _live(
    clients: Clients, region: str, endpoint: str
) -> tuple[dict[str, LiveAlarm], Callable[[str], dict[str, str]]]:
    """The endpoint's rollback alarms (one DescribeAlarms by its prefix), and how to read an
    alarm's tags when one would change."""
    cloudwatch = clients.client(kinds.CLOUDWATCH, region)
    live = alarm_reads.read_alarms(cloudwatch, rollbackalarms.endpoint_prefix(endpoint))
    return live, functools.partial(alarm_reads.alarm_tags, cloudwatch)
