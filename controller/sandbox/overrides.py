"""Which API operations the sandbox answers itself instead of moto, by service target prefix.

Everything not listed goes to moto unchanged. SageMaker operations not listed still get the
model-driven input validation first (see `app`).
"""

from __future__ import annotations

from controller.sandbox import deployments, endpoints, registry, resources, tagging
from controller.sandbox.context import Handler

SAGEMAKER_PREFIX = "SageMaker"
TAGGING_PREFIX = "ResourceGroupsTaggingAPI_20170126"

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
    "UpdateModelPackage": registry.update_model_package,
    "AddTags": tagging.add_tags,
    "DeleteTags": tagging.delete_tags,
    "ListTags": tagging.list_tags,
}

TAGGING: dict[str, Handler] = {
    "GetResources": tagging.get_resources,
}

BY_PREFIX: dict[str, dict[str, Handler]] = {
    SAGEMAKER_PREFIX: SAGEMAKER,
    TAGGING_PREFIX: TAGGING,
}
