"""``Policy``, the whole supervision policy: its JSON shape, its fingerprint, and
``parse_policy``, which reads a TOML text and validates it."""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from domain._codec import OMIT_IF_DEFAULT, from_data, to_data
from domain.errors import DomainError, PolicyError
from domain.policy.sections import (
    CalendarWarning,
    Credit,
    Deadlines,
    Escalation,
    Extension,
    Listing,
    Notice,
    PublicReports,
    Reminders,
    Reports,
    SelfInspection,
    Verification,
)
from domain.policy.validation import validate


@dataclass(frozen=True)
class Policy:
    name: str
    version: str
    time_zone: str
    deadlines: Deadlines
    reminders: Reminders
    verification: Verification
    extension: Extension
    listing: Listing
    escalation: Escalation
    credit: Credit
    reports: Reports
    edition: int = field(default=1, metadata=OMIT_IF_DEFAULT)
    notice: Notice | None = field(default=None, metadata=OMIT_IF_DEFAULT)
    # Edition 5 (企业自查自改); left out of the data (and the fingerprint) while absent.
    self_inspection: SelfInspection | None = field(default=None, metadata=OMIT_IF_DEFAULT)
    # The public-report workflow's rules (举报); no case decides by them.
    public_reports: PublicReports | None = field(default=None, metadata=OMIT_IF_DEFAULT)
    # Not a rule of any case: left out of the data (and the fingerprint) at its default.
    calendar: CalendarWarning = field(default=CalendarWarning(), metadata=OMIT_IF_DEFAULT)
    _fingerprint: str = field(default="", init=False, compare=False, repr=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of ``to_data()``."""
        if not self._fingerprint:
            canonical = json.dumps(
                self.to_data(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
            )
            object.__setattr__(self, "_fingerprint", hashlib.sha256(canonical.encode()).hexdigest())
        return self._fingerprint

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = to_data(self)
        data.pop("_fingerprint")
        return data

    @staticmethod
    def from_data(data: dict[str, Any]) -> Policy:
        return validate(_read(data))


def _read(data: dict[str, Any]) -> Policy:
    if "_fingerprint" in data:
        raise PolicyError("_fingerprint", "unknown key", "policy.unknown_key")
    try:
        policy: Policy = from_data(Policy, data, strict=True)
    except DomainError as exc:
        raise PolicyError(exc.field or "", exc.message, "policy." + exc.rule) from exc
    return policy


def parse_policy(text: str) -> Policy:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError("", f"not valid TOML: {exc}", "policy.toml_syntax") from exc
    return Policy.from_data(data)
