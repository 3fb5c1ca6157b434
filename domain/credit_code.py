"""Unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters from a 31-character alphabet (digits and capitals without I, O, Z, S, V):
registration authority (1), organisation type (1), administrative division (6 digits),
organisation identifier (9) and a check character computed with weights 3^i mod 31.
"""

from __future__ import annotations

from domain.errors import DomainError

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_RULE = "credit_code.gb32100_check"


def _check_character(prefix17: str) -> str:
    total = sum(_VALUE[c] * w for c, w in zip(prefix17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def _invalid(message: str) -> DomainError:
    return DomainError(_RULE, f"统一社会信用代码 invalid (GB 32100-2015): {message}", "credit_code")


def _check_body(body: str, length: int) -> None:
    if len(body) != length:
        raise _invalid(f"expected {length} characters, got {len(body)}")
    bad = sorted({c for c in body if c not in _VALUE})
    if bad:
        raise _invalid(f"characters not allowed: {''.join(bad)}")
    if not body[2:8].isdigit():
        raise _invalid("characters 3-8 must be the 6-digit administrative division code")


def make_credit_code(prefix17: str) -> str:
    """Append the check character to a 17-character prefix (used to generate demo data)."""
    body = prefix17.strip().upper()
    _check_body(body, 17)
    return body + _check_character(body)


def validate_credit_code(code: str) -> str:
    """Return the normalized (trimmed, upper-case) code or raise naming the check rule."""
    body = code.strip().upper()
    _check_body(body, 18)
    expected = _check_character(body[:17])
    if body[17] != expected:
        raise _invalid(f"check character is {body[17]!r}, expected {expected!r}")
    return body


def is_valid_credit_code(code: str) -> bool:
    try:
        validate_credit_code(code)
    except DomainError:
        return False
    return True
