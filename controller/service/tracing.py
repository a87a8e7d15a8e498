"""Optional OpenTelemetry tracing: one span per reconcile, one per AWS call inside it.

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set and the `[otel]` extra is installed
(`pip install 'sagemaker-gitops[otel]'`); then `run` exports over OTLP/HTTP with the standard
OTEL_* variables (service name, headers, sampler). botocore calls are traced by
opentelemetry-instrumentation-botocore, and since a worker makes them while its reconcile span
is current, each AWS call is a child of the reconcile that made it.

Every function here is safe to call when tracing is off: `reconcile_span` then yields None and
costs nothing, so the reconcile path does not care whether tracing is on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import structlog

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer

    from controller.core.plan.outcomes import Outcome

log = structlog.get_logger(__name__)

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_tracer: Tracer | None = None


def install(provider: TracerProvider) -> None:
    """Trace reconciles and botocore calls into `provider` (tests pass an in-memory one)."""
    global _tracer
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

    BotocoreInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    _tracer = provider.get_tracer("sagemaker-gitops")


def uninstall() -> None:
    global _tracer
    if _tracer is None:
        return
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

    BotocoreInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
    _tracer = None


def setup_from_env(env: Mapping[str, str] | None = None) -> bool:
    """Start exporting when an OTLP endpoint is configured; True when tracing is on."""
    env = os.environ if env is None else env
    if not any(env.get(name) for name in ENDPOINT_VARIABLES):
        return False
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but OpenTelemetry is not installed; "
            "install sagemaker-gitops[otel] to export traces"
        )
        return False
    # Resource.create() reads OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES; this is the default.
    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME", "sagemaker-gitops")})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    install(provider)
    log.info("tracing on", endpoint_set=True)
    return True


@contextmanager
def reconcile_span(endpoint: str, key: str, revision: str | None, action: str) -> Iterator[Any]:
    """A span around one reconcile, or nothing when tracing is off."""
    if _tracer is None:
        yield None
        return
    attributes = {
        "sagemaker_gitops.endpoint": endpoint,
        "sagemaker_gitops.key": key,
        "sagemaker_gitops.revision": revision or "",
        "sagemaker_gitops.action": action,
    }
    with _tracer.start_as_current_span("reconcile", attributes=attributes) as span:
        yield span


def record_outcome(span: Span | None, outcome: Outcome) -> None:
    if span is None:
        return
    span.set_attribute("sagemaker_gitops.outcome", outcome.kind.value)
    span.set_attribute("sagemaker_gitops.reason", outcome.reason)
    span.set_attribute("sagemaker_gitops.mutated", outcome.mutated)
    if outcome.kind.value in ("Transient", "Terminal"):
        from opentelemetry.trace import Status, StatusCode

        span.set_status(Status(StatusCode.ERROR, outcome.message[:200]))
