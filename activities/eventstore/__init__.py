"""The append-only, hash-chained event store (see store.py for the ordering argument)."""

from activities.eventstore.chain import GENESIS_HASH, canonical_json
from activities.eventstore.checkpoint import Checkpoint, CheckpointInvalid
from activities.eventstore.errors import (
    EventIdReused,
    EventStoreError,
    InvalidAppend,
    WrongExpectedVersion,
)
from activities.eventstore.store import (
    AppendResult,
    EventMetadata,
    EventStore,
    Head,
    NewEvent,
    RecordedEvent,
)
from activities.eventstore.verify import ChainBreak, VerificationReport, verify_store, verify_stream

__all__ = [
    "GENESIS_HASH",
    "AppendResult",
    "ChainBreak",
    "Checkpoint",
    "CheckpointInvalid",
    "EventIdReused",
    "EventMetadata",
    "EventStore",
    "EventStoreError",
    "Head",
    "InvalidAppend",
    "NewEvent",
    "RecordedEvent",
    "VerificationReport",
    "WrongExpectedVersion",
    "canonical_json",
    "verify_store",
    "verify_stream",
]
