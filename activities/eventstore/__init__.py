"""The append-only, hash-chained event store: ``EventStore`` (store.py) appends (append.py, with
the argument for why the global order is gap-free and equals commit order), reads and follows
(listen.py); the event types are in records.py, the hash chain in chain.py, its verification
in verify.py, signed checkpoints in checkpoint.py."""

from activities.eventstore.chain import GENESIS_HASH, canonical_json
from activities.eventstore.checkpoint import Checkpoint, CheckpointInvalid
from activities.eventstore.errors import (
    EventIdReused,
    EventStoreError,
    InvalidAppend,
    WrongExpectedVersion,
)
from activities.eventstore.records import (
    AppendResult,
    EventMetadata,
    Head,
    NewEvent,
    RecordedEvent,
)
from activities.eventstore.store import EventStore
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
