"""CloudWatch `GetMetricData` for a stage's analysis: every query of one target in as few calls
as the API allows.

GetMetricData takes up to 500 queries a call and pages its answer (`NextToken`); a measurement of
a stage is therefore one call per target and 500 queries, whatever the number of endpoints,
instead of a call per metric per endpoint. Read-only (`cloudwatch:GetMetricData`), made with the
target's own client: its role, its region.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from controller.aws.reading import translated

MAX_QUERIES = 500
"""GetMetricData's limit on MetricDataQueries per call (botocore's CloudWatch model)."""
MAX_PAGES = 100
"""Pages followed per batch: a bounded loop even if an API kept answering with a token."""


def metric_values(
    cloudwatch: Any,
    requests: Sequence[dict[str, Any]],
    start: datetime,
    end: datetime,
) -> dict[str, list[float]]:
    """Query id -> the values of its datapoints between `start` and `end`."""
    found: dict[str, list[float]] = {str(r["Id"]): [] for r in requests}
    for first in range(0, len(requests), MAX_QUERIES):
        batch = list(requests[first : first + MAX_QUERIES])
        token: str | None = None
        for _ in range(MAX_PAGES):
            kwargs: dict[str, Any] = {
                "MetricDataQueries": batch,
                "StartTime": start,
                "EndTime": end,
                "ScanBy": "TimestampDescending",
            }
            if token:
                kwargs["NextToken"] = token
            with translated("GetMetricData"):
                answer = cloudwatch.get_metric_data(**kwargs)
            for result in answer.get("MetricDataResults", []):
                found.setdefault(str(result["Id"]), []).extend(
                    float(v) for v in result.get("Values", [])
                )
            token = answer.get("NextToken")
            if not token:
                break
    return found
