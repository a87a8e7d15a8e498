"""What a rollout does with an endpoint's rollback alarms (`rollbackalarms` builds them): put
those its DeploymentConfig names that are missing or differ, delete the endpoint's others, and
leave alone any of those names the controller does not own. Pure: the planner reads the alarms
(one DescribeAlarms by the endpoint's prefix) and their tags on demand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from controller.core import tagging
from controller.core.plan.changes import field_changes
from controller.core.plan.plans import Action, FieldChange, Op, Reason, ResourceType
from controller.core.rollbackalarms import FIELDS, endpoint_prefix
from controller.core.scaling.model import LiveAlarm


def terms(endpoint: str, fields: Mapping[str, Any] | None) -> dict[str, Any]:
    """An alarm's settings in plan terms (`rollbackAlarms[<name>].threshold`), normalised so a
    DescribeAlarms entry and a PutMetricAlarm request compare equal when they agree."""
    if fields is None:
        return {}
    name = str(fields.get("AlarmName", ""))
    base = f"rollbackAlarms[{name.removeprefix(endpoint_prefix(endpoint))}]"
    found: dict[str, Any] = {}
    for key in FIELDS:
        value = fields.get(key)
        if value is None or (value == [] and key != "AlarmActions"):
            continue
        if key == "Metrics":
            value = [_query(q) for q in value]
        elif key == "Dimensions":
            value = _dimensions(value)
        elif key == "Threshold":
            value = float(value)
        found[f"{base}.{key[0].lower()}{key[1:]}"] = value
    return found


def _dimensions(value: Any) -> list[tuple[str, str]]:
    return sorted((str(d["Name"]), str(d["Value"])) for d in value or [])


def _query(query: Mapping[str, Any]) -> dict[str, Any]:
    found = {k: query[k] for k in ("Id", "Expression", "Label") if query.get(k) is not None}
    found["ReturnData"] = bool(query.get("ReturnData", True))
    stat = query.get("MetricStat")
    if stat:
        metric = stat.get("Metric", {})
        found["MetricStat"] = (
            metric.get("Namespace"),
            metric.get("MetricName"),
            _dimensions(metric.get("Dimensions")),
            int(stat.get("Period", 0)),
            stat.get("Stat"),
        )
    return found


def actions(
    endpoint: str,
    wanted: Sequence[Mapping[str, Any]],
    live: Mapping[str, LiveAlarm],
    controller_id: str,
    tags_of: Callable[[str], Mapping[str, str]],
) -> tuple[list[Action], list[str]]:
    """Puts for the wanted alarms that are missing or differ, deletes for the endpoint's alarms
    no longer wanted; alarms the controller does not own are left alone and reported. `live`:
    lower-cased name -> alarm; `tags_of(arn)` is asked only of an alarm that would change."""

    def owned(have: LiveAlarm) -> bool:
        tags = have.tags if have.tags is not None else tags_of(have.arn)
        return tagging.owned_by(tags, controller_id)

    found: list[Action] = []
    warnings: list[str] = []
    want = {str(r["AlarmName"]).lower(): r for r in wanted}
    for key, request in want.items():
        have = live.get(key)
        changes = field_changes(
            terms(endpoint, have.fields if have else None), terms(endpoint, request), {}
        )
        if not changes:
            continue
        if have is not None and not owned(have):
            warnings.append(f"alarm {have.name} exists and is not managed by this controller")
            continue
        op = Op.UPDATE if have is not None else Op.CREATE
        found.append(
            Action(op, ResourceType.ROLLBACK_ALARM, str(request["AlarmName"]),
                   Reason.ROLLBACK_ALARMS, changes, call="put_metric_alarm", request=dict(request))
        )  # fmt: skip
    for key, have in sorted(live.items()):
        if key in want or not owned(have):
            continue
        gone = tuple(FieldChange(p, v, None) for p, v in terms(endpoint, have.fields).items())
        found.append(
            Action(Op.DELETE, ResourceType.ROLLBACK_ALARM, have.name, Reason.ROLLBACK_ALARMS,
                   gone, call="delete_alarms", request={"AlarmNames": [have.name]})
        )  # fmt: skip
    return found, warnings
