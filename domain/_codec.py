"""JSON-safe conversion of the domain's frozen dataclasses, driven by their type hints.

Datetimes become ISO 8601 strings with an offset, dates ISO dates, enums their values,
durations their policy text, tuples lists. The reverse direction checks every type so that a
corrupted stored event fails loudly with the field that is wrong.

A field declared with ``field(default=..., metadata=OMIT_IF_DEFAULT)`` is left out of the data
while it holds its default: a policy key added later keeps the data (and the fingerprint) of
a policy written before it exactly as they were recorded.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from datetime import date, datetime
from enum import Enum
from typing import Any

from domain.durations import PolicyDuration
from domain.errors import DomainError

OMIT_IF_DEFAULT = types.MappingProxyType({"omit_if_default": True})


def _omitted(f: dataclasses.Field[Any], value: object) -> bool:
    return bool(f.metadata.get("omit_if_default")) and value == f.default


def to_data(value: object) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if isinstance(value, PolicyDuration):
            return str(value)
        return {
            f.name: to_data(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not _omitted(f, getattr(value, f.name))
        }
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise DomainError("data.naive_datetime", "datetimes must carry a time zone")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [to_data(v) for v in value]
    if isinstance(value, frozenset):
        return sorted(to_data(v) for v in value)
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise DomainError("data.unsupported", f"cannot convert {type(value).__name__}")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _bad(where: str, expected: str, value: object) -> DomainError:
    return DomainError("data.invalid", f"expected {expected}, got {value!r}", where)


def _at(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


# What a person's text may not contain: C0 control characters other than tab, newline and
# carriage return, and lone UTF-16 surrogates (not text at all; the record cannot store them).
_ALLOWED_CONTROLS = frozenset("\t\n\r")


def check_text(value: Any, where: str = "") -> None:
    """Refuse, naming the field, any string in ``value`` (nested in dicts and lists) that is
    not storable text. Commands are checked when they are read, so a bad character is a
    refusal at the door rather than a decision the event store later refuses to record."""
    if isinstance(value, str):
        for position, char in enumerate(value):
            code = ord(char)
            if (code < 0x20 and char not in _ALLOWED_CONTROLS) or 0xD800 <= code <= 0xDFFF:
                raise DomainError(
                    "input.text_invalid",
                    f"contains U+{code:04X} at character {position + 1}: text may not hold "
                    "control characters (other than tab and line breaks) or lone surrogates",
                    where or "text",
                )
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, where)
            check_text(item, _at(where, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_text(item, f"{where}[{index}]")


def from_data(tp: Any, value: Any, where: str = "", *, strict: bool = False) -> Any:
    """Read ``value`` as type ``tp``; ``strict`` also rejects unknown keys (policy files)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return from_data(non_none[0], value, where, strict=strict)
        raise _bad(where, str(tp), value)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, list | tuple):
            raise _bad(where, "a list", value)
        return tuple(
            from_data(args[0], v, f"{where}[{i}]", strict=strict) for i, v in enumerate(value)
        )
    if origin is frozenset:
        (arg,) = typing.get_args(tp)
        if not isinstance(value, list | tuple):
            raise _bad(where, "a list", value)
        return frozenset(
            from_data(arg, v, f"{where}[{i}]", strict=strict) for i, v in enumerate(value)
        )
    if origin is dict:
        _, arg = typing.get_args(tp)
        if not isinstance(value, dict):
            raise _bad(where, "an object", value)
        return {
            str(k): from_data(arg, v, _at(where, str(k)), strict=strict) for k, v in value.items()
        }
    if tp is PolicyDuration:
        if not isinstance(value, str):
            raise _bad(where, "a duration text", value)
        return PolicyDuration.parse(value, where or "duration")
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise _bad(where, f"an object for {tp.__name__}", value)
        hints = _hints(tp)
        fields = dataclasses.fields(tp)
        if strict:
            known = {f.name for f in fields}
            for key in value:
                if key not in known:
                    raise DomainError("data.unknown_key", "unknown key", _at(where, str(key)))
        kwargs: dict[str, Any] = {}
        for f in fields:
            at = _at(where, f.name)
            if f.name in value:
                kwargs[f.name] = from_data(hints[f.name], value[f.name], at, strict=strict)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise DomainError("data.missing_key", "required key is missing", at)
        try:
            return tp(**kwargs)
        except DomainError as exc:
            if exc.field and not exc.field.startswith(where):
                raise DomainError(exc.rule, exc.message, _at(where, exc.field)) from exc
            raise
    if tp is datetime:
        if not isinstance(value, str):
            raise _bad(where, "an ISO 8601 datetime", value)
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise _bad(where, "an ISO 8601 datetime", value) from None
        if parsed.tzinfo is None:
            raise _bad(where, "a datetime with offset", value)
        return parsed
    if tp is date:
        if not isinstance(value, str):
            raise _bad(where, "an ISO date", value)
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise _bad(where, "an ISO date", value) from None
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(value)
        except ValueError:
            raise _bad(where, f"one of {[m.value for m in tp]}", value) from None
    if tp is bool:
        if not isinstance(value, bool):
            raise _bad(where, "true or false", value)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(where, "an integer", value)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad(where, "a number", value)
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise _bad(where, "a string", value)
        return value
    raise DomainError("data.unsupported", f"cannot read type {tp}", where)
