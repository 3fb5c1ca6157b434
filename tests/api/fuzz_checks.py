"""A check of duban's own for the fuzzer run (loaded with SCHEMATHESIS_HOOKS).

A request the OpenAPI document calls valid may still break a rule of the domain the document
cannot state — a credit code whose check character fails, an enterprise that is not registered,
a deadline already past, a period of another kind than the path's — and is refused with 422
naming that rule. schemathesis's ``positive_data_acceptance`` is therefore told to expect 422
(``tests/api/schemathesis.toml``), and this check keeps what it would otherwise lose: a
schema-valid request is never refused as *malformed* — by the request's shape (pydantic's
``request.invalid``), its text, its instants, its JSON, or the HTTP server. Such a refusal
means the document promised something the API does not keep.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis

# The rules that judge a request's form, which the OpenAPI document states in full.
MALFORMED_RULES = frozenset(
    {
        "request.invalid",
        "input.text_invalid",
        "instant.rfc3339",
        "time.out_of_range",
        "time.aware_required",
        "http.invalid_request",
        "http.400",
    }
)
MALFORMED_PREFIXES = ("request.json.", "request.body.")


def _is_positive(case: Any) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


def refusal_rule(body: bytes) -> str | None:
    try:
        error = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return None
    rule = error.get("rule") if isinstance(error, dict) else None
    return rule if isinstance(rule, str) else None


def is_malformed(rule: str | None) -> bool:
    return rule is not None and (rule in MALFORMED_RULES or rule.startswith(MALFORMED_PREFIXES))


@schemathesis.check
def schema_valid_request_not_refused_as_malformed(ctx: Any, response: Any, case: Any) -> None:
    """A positive (schema-valid) request is not refused for its form."""
    if not _is_positive(case) or not 400 <= response.status_code < 500:
        return
    rule = refusal_rule(response.content)
    if response.status_code == 400 or is_malformed(rule):
        raise AssertionError(
            f"a schema-valid request was refused as malformed: {response.status_code} {rule}\n"
            f"{response.content[:500]!r}"
        )
