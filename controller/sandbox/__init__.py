"""A local SageMaker for demos and tests, built on moto (`pip install sagemaker-gitops[sandbox]`).

`Sandbox` serves the SageMaker API (plus Application Auto Scaling, CloudWatch, DynamoDB, the
Resource Groups Tagging API and STS) on loopback HTTP and fills moto's gaps where the controller
cares: UpdateEndpoint, endpoint status transitions, SageMaker's validation and messages, tags,
and fault injection. The controller itself never imports this package.
"""

from controller.sandbox.errors import SandboxError, SeedError
from controller.sandbox.faults import Faults
from controller.sandbox.server import Sandbox

__all__ = ["Faults", "Sandbox", "SandboxError", "SeedError"]
