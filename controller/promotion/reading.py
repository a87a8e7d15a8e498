"""`verifying.Reader` over the controller's clients: each location's endpoint reads and metrics
with that target's own client (its role, its region), so a pipeline whose stages are targets in
different accounts reads each stage's metrics in that stage's account."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from controller.aws.clients import Clients
from controller.aws.stages import metrics, serving
from controller.aws.stages.serving import ComponentServing, Serving


class ClientsReader:
    """Reads through `Clients` (read-only clients are enough: nothing here writes)."""

    def __init__(self, clients: Clients) -> None:
        self.clients = clients

    def serving(self, location: str, endpoint: str) -> Serving | None:
        return serving.serving(self.clients.sagemaker(location), endpoint)

    def component(self, location: str, component: str) -> ComponentServing | None:
        return serving.component_serving(self.clients.sagemaker(location), component)

    def metric_values(
        self,
        location: str,
        requests: Sequence[dict[str, Any]],
        start: datetime,
        end: datetime,
    ) -> dict[str, list[float]]:
        cloudwatch = self.clients.client("cloudwatch", location)
        return metrics.metric_values(cloudwatch, requests, start, end)
