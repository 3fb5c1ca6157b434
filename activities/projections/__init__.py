"""Read models (读模型): tables derived from the event store for lists, registers and figures.

- ``projector``: ``Projector`` follows the store and keeps the tables, one batch a transaction
  (``health()`` and ``lag()`` say how well).
- ``batch``: what one batch does: load the rows its events touch, hand each event to the read
  models it concerns, write the changed rows back.
- ``rebuilding``: ``rebuild`` empties the tables and replays the store, under the advisory lock
  that keeps a report from reading half-filled tables (``complete_read_models``).
- ``read_models``: one module per read model, its change handlers and its queries side by
  side (what the HTTP API and the reports read).
"""

from activities.projections.projector import (
    DEFAULT_BATCH_SIZE,
    READ_MODELS,
    BatchResult,
    Projector,
    ProjectorHealth,
)
from activities.projections.rebuilding import READ_TABLES, RebuildResult, rebuild, reset

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "READ_MODELS",
    "READ_TABLES",
    "BatchResult",
    "Projector",
    "ProjectorHealth",
    "RebuildResult",
    "rebuild",
    "reset",
]
