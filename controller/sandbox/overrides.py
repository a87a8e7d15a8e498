"""Which API operations the sandbox answers itself instead of moto, by service target prefix.

Everything not listed goes to moto unchanged. SageMaker operations not listed still get the
model-driven input validation first (see `app`).
"""

from __future__ import annotations

from controller.sandbox import tagging
from controller.sandbox.autoscaling import handlers as autoscaling
from controller.sandbox.autoscaling.resources import following_deletions
from controller.sandbox.cloudwatch import metrics
from controller.sandbox.components import handlers as components
from controller.sandbox.context import Handler
from controller.sandbox.hosting import deployments, endpoints, resources
from controller.sandbox.registry import packages as registry

SAGEMAKER_PREFIX = "SageMaker"
TAGGING_PREFIX = "ResourceGroupsTaggingAPI_20170126"
AUTOSCALING_PREFIX = "AnyScaleFrontendService"
CLOUDWATCH_SERVICE = "GraniteServiceVersion20100801"
"""CloudWatch's service in the Smithy RPC v2 CBOR path (botocore 1.42 and later)."""

SAGEMAKER: dict[str, Handler] = {
    "CreateModel": resources.create_model,
    "DescribeModel": resources.describe_model,
    "DeleteModel": resources.delete_model,
    "CreateEndpointConfig": resources.create_endpoint_config,
    "DescribeEndpointConfig": resources.describe_endpoint_config,
    "DeleteEndpointConfig": resources.delete_endpoint_config,
    "CreateEndpoint": endpoints.create_endpoint,
    "DescribeEndpoint": endpoints.describe_endpoint,
    "ListEndpoints": endpoints.list_endpoints,
    "DeleteEndpoint": endpoints.delete_endpoint,
    "UpdateEndpoint": deployments.update_endpoint,
    "UpdateEndpointWeightsAndCapacities": deployments.update_weights_and_capacities,
    "DescribeModelPackage": registry.describe_model_package,
    # Cross-account registry use: group policies and reads through another account's ARN.
    **registry.SHARING,
    "UpdateModelPackage": registry.update_model_package,
    "CreateInferenceComponent": components.create_inference_component,
    "DescribeInferenceComponent": components.describe_inference_component,
    "ListInferenceComponents": components.list_inference_components,
    "UpdateInferenceComponent": components.update_inference_component,
    "UpdateInferenceComponentRuntimeConfig": components.update_runtime_config,
    "DeleteInferenceComponent": components.delete_inference_component,
    "AddTags": tagging.add_tags,
    "DeleteTags": tagging.delete_tags,
    "ListTags": tagging.list_tags,
}

TAGGING: dict[str, Handler] = {
    "GetResources": tagging.get_resources,
}

_AUTOSCALING: dict[str, Handler] = {
    "RegisterScalableTarget": autoscaling.register_scalable_target,
    "DescribeScalableTargets": autoscaling.describe_scalable_targets,
    "DeregisterScalableTarget": autoscaling.deregister_scalable_target,
    "PutScalingPolicy": autoscaling.put_scaling_policy,
    "DescribeScalingPolicies": autoscaling.describe_scaling_policies,
    "DeleteScalingPolicy": autoscaling.delete_scaling_policy,
    "PutScheduledAction": autoscaling.put_scheduled_action,
    "DescribeScheduledActions": autoscaling.describe_scheduled_actions,
    "DeleteScheduledAction": autoscaling.delete_scheduled_action,
    "DescribeScalingActivities": autoscaling.describe_scaling_activities,
    "ListTagsForResource": autoscaling.list_tags_for_resource,
    "TagResource": autoscaling.tag_resource,
    "UntagResource": autoscaling.untag_resource,
}
AUTOSCALING = {name: following_deletions(h) for name, h in _AUTOSCALING.items()}
"""Application Auto Scaling is served whole by the sandbox (see `scaling_store` for why)."""

CLOUDWATCH: dict[str, Handler] = {
    # Synthesised SageMaker invocation metrics (moto has no percentiles and no traffic);
    # alarms and the rest of CloudWatch stay moto's.
    "GetMetricData": metrics.get_metric_data,
}

BY_PREFIX: dict[str, dict[str, Handler]] = {
    SAGEMAKER_PREFIX: SAGEMAKER,
    TAGGING_PREFIX: TAGGING,
    AUTOSCALING_PREFIX: AUTOSCALING,
    CLOUDWATCH_SERVICE: CLOUDWATCH,
}
