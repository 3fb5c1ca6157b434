"""Read models (读模型): tables derived from the event store for lists, registers and figures.

``Projector`` follows the store and keeps them (``health()`` and ``lag()`` say how well);
``rebuild`` empties and replays them; ``activities.projections.queries`` is what the HTTP API
and the reports read, with the figures' definitions in ``activities.projections.changes``.
"""

from activities.projections.projector import (
    DEFAULT_BATCH_SIZE,
    READ_MODELS,
    READ_TABLES,
    BatchResult,
    Projector,
    ProjectorHealth,
    RebuildResult,
    rebuild,
    reset,
)

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
