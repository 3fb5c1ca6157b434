"""One way to reach Temporal, whatever runs it: the dev server on this machine, a
self-hosted cluster behind mutual TLS, or a managed service that takes an API key.

The worker, the API and the CLI all connect through ``connect_temporal`` so that a setting
added for one connection (a CA bundle, a server name) is honoured by every process.
"""

from __future__ import annotations

import re
from pathlib import Path

from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import TLSConfig

from activities.settings import Settings
from activities.tracing import temporal_interceptors

DEV_SERVER_ADDRESS = "127.0.0.1:7233"


class TemporalSettingsInvalid(ValueError):
    """A Temporal connection setting cannot be used (e.g. a certificate file is missing)."""


class TemporalUnreachable(RuntimeError):
    """No Temporal frontend answered at the configured address (the SDK's connect failed)."""


def temporal_address(settings: Settings) -> str:
    return settings.temporal_address or DEV_SERVER_ADDRESS


def _read_pem(path: Path, setting: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TemporalSettingsInvalid(f"{setting}: cannot read {path}: {exc.strerror}") from exc


def tls_config(settings: Settings) -> TLSConfig | bool:
    """The TLS the settings ask for: ``False`` (plain gRPC, the dev server), ``True`` (system
    roots, e.g. a managed service with an API key) or a ``TLSConfig`` with the given files."""
    wants_files = any(
        value is not None
        for value in (
            settings.temporal_tls_client_cert_path,
            settings.temporal_tls_server_ca_path,
            settings.temporal_tls_server_name,
        )
    )
    enabled = settings.temporal_tls
    if enabled is None:
        enabled = wants_files or settings.temporal_api_key is not None
    if not enabled:
        if wants_files:
            raise TemporalSettingsInvalid(
                "temporal_tls is false but TLS files or a server name are set"
            )
        return False
    if not wants_files:
        return True
    cert = settings.temporal_tls_client_cert_path
    key = settings.temporal_tls_client_key_path
    ca = settings.temporal_tls_server_ca_path
    return TLSConfig(
        server_root_ca_cert=_read_pem(ca, "temporal_tls_server_ca_path") if ca else None,
        client_cert=_read_pem(cert, "temporal_tls_client_cert_path") if cert else None,
        client_private_key=_read_pem(key, "temporal_tls_client_key_path") if key else None,
        domain=settings.temporal_tls_server_name,
    )


def sdk_runtime(settings: Settings, host: str | None = None) -> Runtime | None:
    """A Temporal SDK runtime exporting its own metrics (task slots, poll and schedule-to-start
    latencies, sticky cache) in Prometheus format on ``temporal_metrics_port``; ``None`` when
    that port is 0 (the SDK's default runtime, no export). Create one per process: the
    runtime owns the listening socket."""
    if settings.temporal_metrics_port == 0:
        return None
    bind_host = host or settings.worker_metrics_host
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=f"{bind_host}:{settings.temporal_metrics_port}",
                durations_as_seconds=True,
            ),
            global_tags={"namespace": settings.temporal_namespace},
        )
    )


async def connect_temporal(
    settings: Settings, *, runtime: Runtime | None = None, identity: str | None = None
) -> Client:
    """Connect to the configured Temporal frontend and namespace with the configured TLS and
    API key. ``runtime`` (see ``sdk_runtime``) carries the SDK's metrics exporter. The client
    carries the tracing interceptor (no-op without tracing), and so do workers built on it."""
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    address = temporal_address(settings)
    try:
        return await Client.connect(
            address,
            namespace=settings.temporal_namespace,
            api_key=api_key,
            tls=tls_config(settings),
            runtime=runtime,
            identity=identity,
            interceptors=temporal_interceptors(),
        )
    except RuntimeError as exc:  # the SDK's bridge says "Failed client connect: …"
        if not str(exc).startswith("Failed client connect"):
            raise
        reason = str(exc).splitlines()[0].removeprefix("Failed client connect: ")
        os_error = re.search(r'message: "([^"]+)"', reason)  # the gist of a tonic error
        reason = os_error.group(1) if os_error else reason
        raise TemporalUnreachable(f"Temporal at {address} is unreachable ({reason})") from exc
