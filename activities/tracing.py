"""Tracing: one OpenTelemetry trace per command, from the HTTP request to the SQL of its append.

    POST /api/v1/hazards/{hazard_id}/verification   (FastAPI's own server span: it continues
      │                                              a caller's W3C traceparent; api/tracing.py)
      → StartWorkflowUpdate:verify_rectification    (temporalio's TracingInterceptor, client)
        → ValidateUpdate / HandleUpdate             (the workflow task; the context rides in
          → StartActivity:append_events              Temporal headers)
            → RunActivity:append_events             (the worker)
              → eventstore.append                   (activities/eventstore/store.py: the
                                                     stream id, the number of events)

Silent unless an endpoint is set: without ``otel_endpoint`` no tracer provider is installed,
every span is OpenTelemetry's no-op (nothing recorded, no trace context put in Temporal
headers), and there is no exporter, no background thread and no log line. With it, spans are
batched and sent by OTLP/HTTP (protobuf) to ``<endpoint>/v1/traces``; the exporter's other
standard variables (``OTEL_EXPORTER_OTLP_HEADERS``, ``…_CERTIFICATE``, ``…_TIMEOUT``) apply.

Workflows stay deterministic: the interceptor creates workflow spans only outside replay and
through an extern function; nothing enters the history but a header on the commands, which
replay does not compare (tests/workflows/test_replay_traced.py replays every committed
history with it installed).

Work a case's timers start on their own (a reminder, an escalation) runs in the context of the
request that registered the case, as temporalio's interceptor has it: such spans belong to the
registration's trace.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import opentelemetry.context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from temporalio import worker as temporal_worker
from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor

from activities.settings import Settings

SERVICE_NAMESPACE = "duban"
TRACES_PATH = "/v1/traces"


def otlp_traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL of a collector's base URL (as OTEL_EXPORTER_OTLP_ENDPOINT is
    read by every OpenTelemetry SDK); a URL that already names the path is kept."""
    base = endpoint.rstrip("/")
    return base if base.endswith(TRACES_PATH) else base + TRACES_PATH


@dataclass
class Tracing:
    """The process's tracer provider, when tracing is on. ``shutdown`` sends what is still
    batched; call it once when the process stops."""

    provider: TracerProvider

    def flush(self, timeout_millis: int = 10_000) -> bool:
        return self.provider.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self.provider.shutdown()


def configure_tracing(
    settings: Settings, service_name: str, *, exporter: SpanExporter | None = None
) -> Tracing | None:
    """Install the process's tracer provider when ``settings.otel_endpoint`` is set (or an
    ``exporter`` is given, as tests do), exporting in batches; ``None`` and nothing installed
    otherwise. Call once per process, before the first span (OpenTelemetry keeps the first
    provider installed)."""
    if exporter is None:
        if not settings.otel_endpoint:
            return None
        exporter = OTLPSpanExporter(endpoint=otlp_traces_url(settings.otel_endpoint))
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": service_name, "service.namespace": SERVICE_NAMESPACE}
        )
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return Tracing(provider)


def tracing_enabled() -> bool:
    """A tracer provider is installed (by ``configure_tracing``, or by whoever embeds duban)."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def tracer(name: str) -> trace.Tracer:
    """The tracer of ``name``, looked up when used: the provider may be installed after the
    module is imported (and a no-op tracer costs next to nothing)."""
    return trace.get_tracer(name)


# ---------------------------------------------------------------------- Temporal


class _CommandWorkflowInterceptor(TracingWorkflowInboundInterceptor):
    """temporalio's workflow interceptor, except that an update's validator and handler run in
    the trace of the request that sent the update (its own header), linked to the workflow's,
    rather than in the trace of the request that started the workflow months before: so an
    update's activities (its append) belong to the command's trace."""

    def _update_context(
        self, input: temporal_worker.HandleUpdateInput
    ) -> opentelemetry.context.Context | None:
        header = input.headers.get(self.header_key)
        if not header:
            return None
        carrier = self.payload_converter.from_payloads([header])[0]
        return self._set_on_context(self.text_map_propagator.extract(carrier))

    @contextmanager
    def _in_update_trace(self, context: opentelemetry.context.Context, span: str) -> Iterator[None]:
        token = opentelemetry.context.attach(context)
        try:
            self._completed_span(
                span,
                link_context_carrier=self._load_workflow_context_carrier(),
                kind=trace.SpanKind.SERVER,
            )
            yield
        finally:
            # A handler may end in another contextvars context (an evicted workflow is
            # finalised wherever garbage collection runs): nothing to detach there.
            if opentelemetry.context.get_current() is context:
                opentelemetry.context.detach(token)

    def handle_update_validator(self, input: temporal_worker.HandleUpdateInput) -> None:
        context = self._update_context(input)
        if context is None:
            super().handle_update_validator(input)
            return
        with self._in_update_trace(context, f"ValidateUpdate:{input.update}"):
            self.next.handle_update_validator(input)

    async def handle_update_handler(self, input: temporal_worker.HandleUpdateInput) -> Any:
        context = self._update_context(input)
        if context is None:
            return await super().handle_update_handler(input)
        with self._in_update_trace(context, f"HandleUpdate:{input.update}"):
            return await self.next.handle_update_handler(input)


class CommandTracingInterceptor(TracingInterceptor):
    """temporalio's ``TracingInterceptor`` with ``_CommandWorkflowInterceptor`` in workflows.
    On the client it serves both the API's and the worker's side (a Worker takes the
    interceptors of its client)."""

    def workflow_interceptor_class(
        self, input: temporal_worker.WorkflowInterceptorClassInput
    ) -> type[TracingWorkflowInboundInterceptor]:
        super().workflow_interceptor_class(input)
        return _CommandWorkflowInterceptor


def temporal_interceptors() -> Sequence[TracingInterceptor]:
    """The interceptors every Temporal client of duban carries. Harmless without a provider:
    its spans are no-ops and it puts no header on anything."""
    return [CommandTracingInterceptor()]
