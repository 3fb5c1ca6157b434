"""Auditors' tools over the event store: replay, reconcile, dossiers."""
