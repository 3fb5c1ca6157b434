"""Prometheus metrics of duban's processes (监控指标), served on ``/metrics`` by the probe
server (``activities.health``) and by the API.

duban's metrics:

- ``duban_open_cases{level}``, ``duban_overdue_cases{level}``: open cases, and those overdue
  (逾期: past their rectification deadline unrectified, escalated or not), by
  the grid level supervising them, sampled from the read model ``case_view`` every
  ``metrics_refresh_seconds``. Every worker reports the same figures: aggregate with
  ``max by (level)``, not ``sum``.
- ``duban_escalations_total{level}``: escalations (逐级督办) this process recorded;
  ``duban_events_appended_total{event_type}`` and ``duban_event_append_seconds`` (histogram):
  what this process appended and how long each append took. Sum these over processes.
- ``duban_event_store_head_position``, ``duban_projector_position``,
  ``duban_projector_lag_events``: the store's head, the projector's committed position and the
  difference (read models that far behind the record).
- ``duban_notification_deliveries_sent|pending|given_up{channel}``,
  ``duban_notification_delivery_failures{channel}`` and
  ``duban_notification_delivery_lag_seconds{channel}``: the notices' deliveries per channel
  (activities/deliveries), sampled with the read model.
- The hourly audit job (the worker that ran it): ``duban_audit_chain_broken`` (1 when the
  chain since the last checkpoint did not verify, and nothing was signed),
  ``duban_audit_checkpoint_position``, ``duban_history_exports_total``,
  ``duban_history_exports_missing`` (recorded exports whose file is gone and could not be
  restored from Temporal) and ``duban_history_exports_failed`` (closed cases the last run could
  not export). Alert on any of the last three gauges above 0.

The Temporal SDK's own metrics (task slots, poll and schedule-to-start latencies) are served
by the SDK runtime on ``temporal_metrics_port`` (see ``activities.temporal_client``).

Nothing is created at import time. The API reuses ``render_metrics``.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
import structlog
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from activities.deliveries.operations import ChannelFigures, channel_figures
from activities.eventstore import AppendResult, EventStore, NewEvent
from activities.projections import READ_MODELS

log = structlog.get_logger(__name__)

# Appends are serialised by one advisory lock: most take a few milliseconds, a queue behind
# the lock shows up in the upper buckets.
APPEND_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# How long stopping waits for a sample in progress (its queries run in well under that).
SAMPLER_STOP_SECONDS = 4.0

_READ_MODEL_SQL = """
SELECT supervising_level,
       count(*) AS open_cases,
       count(*) FILTER (WHERE overdue_watch_since IS NOT NULL
                        AND rectification_deadline <= %(now)s) AS overdue_cases
FROM case_view WHERE is_open GROUP BY supervising_level
"""
_LAG_SQL = """
SELECT (SELECT position FROM events ORDER BY position DESC LIMIT 1),
       (SELECT position FROM projection_positions WHERE name = %(name)s)
"""


@dataclass(frozen=True, slots=True)
class ReadModelSample:
    """The read-model figures at one instant (overdue is judged at ``sampled_at``)."""

    sampled_at: datetime
    open_by_level: Mapping[str, int] = field(default_factory=dict)
    overdue_by_level: Mapping[str, int] = field(default_factory=dict)
    head_position: int = 0
    projector_position: int = 0

    @property
    def projector_lag(self) -> int:
        return max(0, self.head_position - self.projector_position)


def sample_read_model(
    engine: Engine, now: datetime, projection: str = READ_MODELS
) -> ReadModelSample:
    """Count open and overdue cases by supervising level and the projector's lag, in one
    read-only transaction (so the counts and the positions belong to one snapshot)."""
    with engine.connect() as conn:
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        rows = conn.exec_driver_sql(_READ_MODEL_SQL, {"now": now}).all()
        head, position = conn.exec_driver_sql(_LAG_SQL, {"name": projection}).one()
        conn.rollback()
    return ReadModelSample(
        sampled_at=now,
        open_by_level={level: int(open_) for level, open_, _ in rows},
        overdue_by_level={level: int(overdue) for level, _, overdue in rows},
        head_position=int(head or 0),
        projector_position=int(position or 0),
    )


class _ReadModelCollector(Collector):
    """Exposes the latest sample as it was taken: a level that has no open case any more
    disappears from the output instead of keeping its last count."""

    def __init__(self, metrics: DubanMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        sample = self._metrics.read_model
        if sample is None:
            return
        open_cases = GaugeMetricFamily(
            "duban_open_cases",
            "Open cases by supervising grid level (case_view).",
            labels=["level"],
        )
        overdue = GaugeMetricFamily(
            "duban_overdue_cases",
            "Open cases past their deadline with no rectification report (逾期), by level.",
            labels=["level"],
        )
        for level, count in sorted(sample.open_by_level.items()):
            open_cases.add_metric([level], count)
            overdue.add_metric([level], sample.overdue_by_level.get(level, 0))
        yield open_cases
        yield overdue
        yield GaugeMetricFamily(
            "duban_event_store_head_position",
            "Global position of the newest stored event.",
            value=sample.head_position,
        )
        yield GaugeMetricFamily(
            "duban_projector_position",
            "Last position the read-model projector committed.",
            value=sample.projector_position,
        )
        yield GaugeMetricFamily(
            "duban_projector_lag_events",
            "Stored events the read models do not reflect yet (head - projector position).",
            value=sample.projector_lag,
        )
        yield GaugeMetricFamily(
            "duban_read_model_sampled_timestamp_seconds",
            "When the read-model figures above were sampled (Unix time).",
            value=sample.sampled_at.timestamp(),
        )


class _DeliveryCollector(Collector):
    """The notices' deliveries per channel, as last sampled (every process reports the same
    figures from the database: aggregate with ``max by (channel)``)."""

    def __init__(self, metrics: DubanMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        figures = self._metrics.deliveries
        if figures is None:
            return
        families = {
            "sent": GaugeMetricFamily(
                "duban_notification_deliveries_sent",
                "Deliveries of notices sent, by channel (the inbox included).",
                labels=["channel"],
            ),
            "failed_attempts": GaugeMetricFamily(
                "duban_notification_delivery_failures",
                "Failed delivery attempts, by channel (each retried or given up).",
                labels=["channel"],
            ),
            "pending": GaugeMetricFamily(
                "duban_notification_deliveries_pending",
                "Deliveries waiting for their first or next attempt, by channel.",
                labels=["channel"],
            ),
            "given_up": GaugeMetricFamily(
                "duban_notification_deliveries_given_up",
                "Deliveries given up: the operator's queue (duban notifications list), by "
                "channel. Alert above 0.",
                labels=["channel"],
            ),
            "lag_seconds": GaugeMetricFamily(
                "duban_notification_delivery_lag_seconds",
                "Age of the oldest delivery that is due and not sent yet, by channel (0: none).",
                labels=["channel"],
            ),
        }
        for f in figures:
            for name, family in families.items():
                family.add_metric([f.channel], float(getattr(f, name)))
        yield from families.values()


class DubanMetrics:
    """duban's metrics on a registry of their own (the process's CPU and memory included)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.read_model: ReadModelSample | None = None
        self.escalations = Counter(
            "duban_escalations",
            "Escalations up the grid (逐级督办, CaseEscalated) recorded by this process.",
            ["level"],
            registry=self.registry,
        )
        self.events_appended = Counter(
            "duban_events_appended",
            "Events this process appended to the event store (retries already stored excluded).",
            ["event_type"],
            registry=self.registry,
        )
        self.append_seconds = Histogram(
            "duban_event_append_seconds",
            "Duration of one append to the event store (lock wait included).",
            buckets=APPEND_BUCKETS,
            registry=self.registry,
        )
        self.audit_chain_broken = Gauge(
            "duban_audit_chain_broken",
            "1 when the hourly audit job found the chain broken since the last checkpoint "
            "(it then signs nothing).",
            registry=self.registry,
        )
        self.audit_checkpoint_position = Gauge(
            "duban_audit_checkpoint_position",
            "Position of the last checkpoint the hourly audit job signed.",
            registry=self.registry,
        )
        self.history_exports = Counter(
            "duban_history_exports",
            "Closed cases' workflow histories exported (or restored) by this process.",
            registry=self.registry,
        )
        self.history_exports_missing = Gauge(
            "duban_history_exports_missing",
            "Recorded history exports whose file is missing or damaged and could not be "
            "restored from Temporal (last audit run).",
            registry=self.registry,
        )
        self.history_exports_failed = Gauge(
            "duban_history_exports_failed",
            "Closed cases whose history the last audit run could not export.",
            registry=self.registry,
        )
        self.registry.register(_ReadModelCollector(self))
        self.deliveries: list[ChannelFigures] | None = None
        self.registry.register(_DeliveryCollector(self))

    def observe_append(
        self, events: Sequence[NewEvent], result: AppendResult | None, seconds: float
    ) -> None:
        self.append_seconds.observe(seconds)
        if result is None or result.already_stored:
            return
        for event in events:
            self.events_appended.labels(event.event_type).inc()
            if event.event_type == "CaseEscalated":
                level = event.data.get("grid_level")
                self.escalations.labels(level if isinstance(level, str) else "unknown").inc()

    def refresh_read_model(self, engine: Engine, now: datetime | None = None) -> ReadModelSample:
        sample = sample_read_model(engine, now or datetime.now(UTC))
        self.read_model = sample
        self.deliveries = channel_figures(engine)
        return sample


@functools.cache
def default_metrics() -> DubanMetrics:
    """The process's metrics, created on first use (never at import)."""
    return DubanMetrics()


def render_metrics(metrics: DubanMetrics | None = None) -> bytes:
    """The Prometheus text exposition of ``metrics`` (default: the process's)."""
    return generate_latest((metrics or default_metrics()).registry)


class MeasuredEventStore(EventStore):
    """The event store, timing every append and counting what it records into ``metrics``.

    A subclass rather than a hook: the activities keep calling ``append`` as they always have.
    """

    def __init__(
        self, engine: Engine, metrics: DubanMetrics, *, max_event_bytes: int = 256 * 1024
    ) -> None:
        super().__init__(engine, max_event_bytes=max_event_bytes)
        self._metrics = metrics

    def append(
        self, stream_id: str, expected_version: int | None, events: Sequence[NewEvent]
    ) -> AppendResult:
        started = time.perf_counter()
        result: AppendResult | None = None
        try:
            result = super().append(stream_id, expected_version, events)
            return result
        finally:
            self._metrics.observe_append(events, result, time.perf_counter() - started)


class ReadModelSampler:
    """Samples the read model into ``metrics`` every ``interval`` seconds on its own thread
    until stopped. A failed sample is logged and the previous one kept."""

    def __init__(self, engine: Engine, metrics: DubanMetrics, interval: float) -> None:
        self._engine = engine
        self._metrics = metrics
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="duban-metrics", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._metrics.refresh_read_model(self._engine)
            except sa.exc.SQLAlchemyError as exc:
                log.warning("metrics.read_model_unavailable", error=str(exc))
            except Exception:  # a sampler that died would freeze every gauge at its last value
                log.exception("metrics.read_model_sample_failed")
            self._stop.wait(self._interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=SAMPLER_STOP_SECONDS)
