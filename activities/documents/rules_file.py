"""Reads the document rules: the shipped ``domain/documents/default.toml`` or an
administrator's file (the domain parses the text; reading it is this side's I/O)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from domain.documents.rules import DocumentRules, parse_document_rules

SHIPPED_RULES = "default.toml"


def load_document_rules(path: Path | None = None) -> DocumentRules:
    """The rules in ``path``, or the shipped ones; a broken file raises ``DomainError``
    naming the key."""
    if path is None:
        text = resources.files("domain.documents").joinpath(SHIPPED_RULES).read_text("utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    return parse_document_rules(text)
