"""CloudWatch alarms the controller owns (behind scale-out from zero, and an endpoint's rollback
alarms generated from a pipeline stage): reading them, their tags, and putting them.

Read-only except `AlarmWriter`. A pass reads the region's alarms named with the controller's
prefix in one paged DescribeAlarms (only when some component copy-count target exists: no target,
no alarm of ours to keep), never one call per component; tags are read only for an alarm the
plan may change.
"""

from __future__ import annotations

from typing import Any

from controller.aws.reading import call, translated
from controller.core.scaling import model as scaling
from controller.core.scaling.components import WAKE_POLICY
from controller.core.scaling.model import LiveAlarm
from controller.errors import NotFound
from controller.manifests.scaling import NAME_PREFIX

PAGE = 100  # DescribeAlarms' largest MaxRecords


def read_alarms(client: Any, prefix: str = NAME_PREFIX) -> dict[str, LiveAlarm]:
    """Lower-cased alarm name -> alarm, for every metric alarm named `prefix`* (by default
    sagemaker-gitops-*)."""
    paginator = client.get_paginator("describe_alarms")
    pages = paginator.paginate(
        AlarmNamePrefix=prefix,
        AlarmTypes=["MetricAlarm"],
        PaginationConfig={"PageSize": PAGE},
    )
    with translated("describe_alarms"):
        found = [a for page in pages for a in page.get("MetricAlarms", [])]
    return {
        a["AlarmName"].lower(): LiveAlarm(a["AlarmName"], a.get("AlarmArn", ""), a) for a in found
    }


def alarm_tags(client: Any, arn: str) -> dict[str, str]:
    """The alarm's tags; {} for one without any (or without an ARN)."""
    if not arn:
        return {}
    found = call(client, "list_tags_for_resource", ResourceARN=arn)
    return {str(t["Key"]): str(t["Value"]) for t in found.get("Tags") or []}


class AlarmWriter:
    """The CloudWatch client `applying` puts and deletes alarms with.

    A planned PutMetricAlarm may lack AlarmActions: the step policy it runs is put in the same
    apply, and its ARN (which carries an id AWS picks) exists only then. The writer looks it up
    (one DescribeScalingPolicies by name) just before the put."""

    def __init__(self, cloudwatch: Any, autoscaling: Any) -> None:
        self.cloudwatch = cloudwatch
        self.autoscaling = autoscaling

    def put_metric_alarm(self, **request: Any) -> Any:
        if "AlarmActions" not in request:
            request = {**request, "AlarmActions": [self._policy_arn(request)]}
        return self.cloudwatch.put_metric_alarm(**request)

    def delete_alarms(self, **request: Any) -> Any:
        return self.cloudwatch.delete_alarms(**request)

    def _policy_arn(self, request: dict[str, Any]) -> str:
        (dimension,) = request["Dimensions"]
        rid = scaling.component_resource_id(dimension["Value"])
        found = call(
            self.autoscaling,
            "describe_scaling_policies",
            **scaling.target_key(rid),
            PolicyNames=[WAKE_POLICY],
        )
        policies = found.get("ScalingPolicies") or []
        if not policies:
            raise NotFound(f"step scaling policy {WAKE_POLICY} on {rid} is missing")
        return str(policies[0]["PolicyARN"])
