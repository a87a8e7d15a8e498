"""A local SageMaker for demos and tests, built on moto (`pip install sagemaker-gitops[sandbox]`).

`Sandbox` serves the SageMaker API (plus Application Auto Scaling, CloudWatch, DynamoDB, the
Resource Groups Tagging API and STS) on loopback HTTP and fills moto's gaps where the controller
cares: UpdateEndpoint, endpoint status transitions, SageMaker's validation and messages, tags,
and fault injection. The controller itself never imports this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from controller.sandbox.errors import SandboxError, SeedError
from controller.sandbox.instrument.faults import Faults

if TYPE_CHECKING:
    from controller.sandbox.server import Sandbox

__all__ = ["Faults", "Sandbox", "SandboxError", "SeedError"]


def __getattr__(name: str) -> Any:
    # moto is imported only when a sandbox is actually wanted: `sagemaker-gitops plan` and the
    # service must not pay its import time and memory just because the extra is installed.
    if name == "Sandbox":
        from controller.sandbox.server import Sandbox

        return Sandbox
    raise AttributeError(name)
