"""Where text and instants enter the API: the rules every string and every instant of a request
must meet, enforced by the request models and stated in the OpenAPI document, so that a client
(or a fuzzer) can tell a well-formed request from the schema alone.

- Text: no control characters other than tab and line breaks, no lone surrogates (the record
  cannot hold them: the domain's own rule, ``input.text_invalid``); a required text has a
  character that is not a space. Codes and ids have patterns of their own.
- Instants: RFC 3339 strings with a time zone offset (``2026-12-08T09:30:00+08:00``), in the
  years 1900..9998 — never a bare number, which pydantic would read as Unix seconds.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from domain._codec import check_text
from domain.durations import EARLIEST_YEAR, LATEST_YEAR, utc_instant
from domain.errors import DomainError

# What text may not hold (as domain/_codec.py refuses it), as a regex character class. Lone
# surrogates are refused too, but stay out of the pattern: JSON Schema validators built on
# Rust's regex cannot compile a surrogate range and would drop the whole pattern.
_UNSTORABLE = r"\x00-\x08\x0B\x0C\x0E-\x1F"
TEXT_PATTERN = f"^[^{_UNSTORABLE}]*$"
REQUIRED_TEXT_PATTERN = f"^[^{_UNSTORABLE}]*[^\\s{_UNSTORABLE}][^{_UNSTORABLE}]*$"
# An Idempotency-Key: visible ASCII, spaces inside only (a header's outer spaces are not its).
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7E](?:[\x20-\x7E]*[\x21-\x7E])?$"
CREDIT_CODE_PATTERN = r"^[0-9A-Za-z]{18}$"
# The years duban accepts (domain.durations: EARLIEST_YEAR..LATEST_YEAR).
_YEAR = r"(?:19\d\d|[2-8]\d\d\d|9[0-8]\d\d|99[0-8]\d)"
assert (EARLIEST_YEAR, LATEST_YEAR) == (1900, 9998), "keep _YEAR in step with the domain"
_DATE_TIME = (
    r"-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])[Tt](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r"(?:\.\d{1,9})?(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)$"
)
RFC3339_PATTERN = f"^{_YEAR}{_DATE_TIME}"
PERIOD_PATTERN = rf"^{_YEAR}(?:-(?:0[1-9]|1[0-2])|-Q[1-4])?$"
# Any year here: one outside duban's is told as the domain tells it (time.out_of_range).
_RFC3339 = re.compile(rf"^\d{{4}}{_DATE_TIME}")
INSTANT_RULE = (
    "an RFC 3339 string with a time zone offset, e.g. 2026-12-08T09:30:00+08:00, "
    f"in the years {EARLIEST_YEAR}..{LATEST_YEAR}"
)


def refuse_unstorable_text(value: Any) -> Any:
    """A model's before-validator: a string the record cannot hold is refused as
    ``input.text_invalid`` (pydantic names the field). A nested model checks its own."""
    if isinstance(value, str):
        try:
            check_text(value)
        except DomainError as exc:
            raise PydanticCustomError("input.text_invalid", exc.message) from None
    return value


def text_field(
    default: Any = ...,
    *,
    max_length: int = 2000,
    required: bool = True,
    description: str | None = None,
) -> Any:
    """A person's text: ``required`` ones hold a character that is not a space."""
    return Field(
        default,
        min_length=1 if required else None,
        max_length=max_length,
        description=description,
        json_schema_extra={"pattern": REQUIRED_TEXT_PATTERN if required else TEXT_PATTERN},
    )


def parse_instant(value: Any) -> datetime:
    """``value`` as an aware datetime if it is an RFC 3339 string in duban's years, else a
    ``instant.rfc3339`` or ``time.out_of_range`` refusal (pydantic names the field)."""
    if isinstance(value, datetime):  # built in Python (the CLI), not read from a request
        moment = value
    elif not isinstance(value, str) or not _RFC3339.match(value):
        raise PydanticCustomError("instant.rfc3339", f"an instant is {INSTANT_RULE}")
    else:
        try:
            moment = datetime.fromisoformat(value.upper())
        except ValueError:  # a day the month does not have (2026-02-30)
            raise PydanticCustomError("instant.rfc3339", f"no such instant: {value}") from None
    try:
        utc_instant(moment, "instant")
    except DomainError as exc:
        raise PydanticCustomError(exc.rule, exc.message) from None
    return moment


Instant = Annotated[
    datetime,
    BeforeValidator(parse_instant),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": RFC3339_PATTERN,
            "description": f"an instant: {INSTANT_RULE}",
        }
    ),
]
