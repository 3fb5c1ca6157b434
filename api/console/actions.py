"""What a console form needs to act through the API's own code: the body judged by the API's
request model (every refusal named by its field, in the API's words), the API's route run with
the session's principal (its access rules, its Idempotency-Key ledger, its workflow update),
and the key a form carries so that a double submission is applied once.

A form is rendered with a fresh ``idempotency_key`` (a hidden field); the same form sent twice
(a double tap, a reload after a lost answer) is the same key and the same body, so the API's
ledger gives back the first answer and the case sees the command once.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from api.console.components import FormErrors
from api.services.refusals import Refused
from api.text_input import IDEMPOTENCY_KEY_PATTERN

M = TypeVar("M", bound=BaseModel)
KEY_FIELD = "idempotency_key"


def new_key() -> str:
    """A form's Idempotency-Key: ``console-`` and 24 random characters."""
    return "console-" + secrets.token_urlsafe(18)


def form_key(value: str | None) -> str | None:
    """The key a form sent, if it is one the API accepts (else the command is sent unkeyed)."""
    if value and len(value) <= 200 and re.match(IDEMPOTENCY_KEY_PATTERN, value):
        return value
    return None


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def judged(model: type[M], data: dict[str, Any], errors: FormErrors) -> M | None:
    """``data`` as the API's request model ``model``, or None with every refusal added to
    ``errors`` — the rule and message the API answers for the same body (``api/errors.py``:
    duban's own rules keep their names, pydantic's are ``request.invalid``)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            kind = str(error.get("type") or "")
            errors.refusals.append(
                Refused(
                    422,
                    kind if "." in kind else "request.invalid",
                    str(error.get("msg", "")),
                    _field(tuple(error.get("loc", ()))),
                )
            )
        return None


def answer_of(response: Response) -> dict[str, Any]:
    """The JSON the API answered (a ``Response`` of ``answered_once``)."""
    data: dict[str, Any] = json.loads(bytes(response.body))
    return data


def local_instant(value: str, zone: ZoneInfo) -> str:
    """A ``datetime-local`` input (``2026-12-20T17:00``, the policy's zone meant) as the API's
    RFC 3339 instant; anything else is passed as it is, for the API's rule to judge."""
    text = value.strip()
    if not text:
        return ""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat()


def local_input(value: Any, zone: ZoneInfo) -> str:
    """An instant as a ``datetime-local`` input's value in the policy's zone."""
    if value is None or value == "":
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
