"""The fuzzer run, bounded: schemathesis with every check (its own and tests/api/fuzz_checks.py)
against the API served over real HTTP, as every role and with no token — no server error, no
status the OpenAPI document does not state, no schema-valid request refused as malformed, every
undeclared method a 405 with Allow. ``make fuzz`` runs the same with more examples."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.api.fuzz import NO_TOKEN, ROLES, fuzz_stack, run_fuzz, summary
from tests.api.fuzz_checks import schema_valid_request_not_refused_as_malformed

pytestmark = pytest.mark.slow  # real servers; CI runs it (make test selects every marker)
BOUNDED_EXAMPLES = 5  # per operation and phase: ~2,000 requests per role


async def test_the_fuzzer_finds_nothing_as_any_role_or_without_a_token(
    fresh_database_url: str, tmp_path: Path
):
    async with fuzz_stack(fresh_database_url) as target:
        results = await run_fuzz(
            target,
            [*ROLES, NO_TOKEN],
            max_examples=BOUNDED_EXAMPLES,
            report_dir=tmp_path,
            parallel=3,
        )
    print(summary(results))
    for result in results:
        assert not result.failed, (result.who, result.failures, result.output[-6000:])
    assert target.loop_violations == [], "\n".join(target.loop_violations)
    assert {r.who for r in results} == {*ROLES, NO_TOKEN}
    for result in results:
        assert result.requests > 500, (result.who, result.requests)
        assert any(200 <= status < 300 for status in result.statuses), result.who
        assert 405 in result.statuses, "undeclared methods were tried"


def answer(status: int, rule: str) -> SimpleNamespace:
    body = f'{{"error": {{"rule": "{rule}", "message": "m", "field": "f"}}}}'.encode()
    return SimpleNamespace(status_code=status, content=body)


def case(positive: bool) -> SimpleNamespace:
    mode = SimpleNamespace(is_positive=positive)
    return SimpleNamespace(meta=SimpleNamespace(generation=SimpleNamespace(mode=mode)))


def test_a_schema_valid_request_refused_as_malformed_fails_the_check_and_a_domain_rule_not():
    check = schema_valid_request_not_refused_as_malformed
    for rule in ("request.invalid", "input.text_invalid", "request.json.duplicate_key"):
        with pytest.raises(AssertionError, match=rule):
            check(None, answer(422, rule), case(positive=True))
        check(None, answer(422, rule), case(positive=False))  # negative data: expected
    for rule in ("credit_code.gb32100_check", "case.deadline.in_past", "not_found"):
        check(None, answer(422, rule), case(positive=True))
    with pytest.raises(AssertionError):
        check(None, answer(400, "http.invalid_request"), case(positive=True))
