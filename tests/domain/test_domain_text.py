"""A person's text reaches the record only if the record can hold it: control characters
(other than tab and line breaks) and lone surrogates are refused where a command is accepted
(``check_command_text``), naming the field — never accepted and then refused by the event
store. Reading a command does not check it: a command recorded before the check must still
read, and replay, as it was decided."""

from __future__ import annotations

import pytest

from domain.case import check_command_text, command_from_data
from domain.credit import (
    check_credit_command_text,
    credit_command_from_data,
)
from domain.errors import DomainError

SUPERVISOR = {"id": "sup-1", "role": "supervisor", "unit_code": "P37-C07-X82"}


@pytest.mark.parametrize("bad", ["拒不\x00整改", "\x1b[31m", "\ud931 lone", "x\udec6"])
def test_a_command_with_unstorable_text_is_refused_naming_the_field(bad: str):
    data = {"actor": SUPERVISOR, "details": bad}
    with pytest.raises(DomainError) as refused:
        check_command_text(data)
    assert refused.value.rule == "input.text_invalid"
    assert refused.value.field == "details"


def test_nested_text_is_named_by_its_path():
    with pytest.raises(DomainError) as refused:
        check_credit_command_text(
            {"actor": {"id": "ent", "role": "enterprise"}, "statement": "ok\x07"}
        )
    assert refused.value.field == "statement"
    with pytest.raises(DomainError) as nested:
        check_command_text(
            {
                "actor": {"id": "ent", "role": "enterprise"},
                "summary": "已整改",
                "evidence": [{"uri": "s3://e/1.jpg\x00", "sha256": "a" * 64}],
            }
        )
    assert nested.value.field == "evidence[0].uri"


@pytest.mark.parametrize("fine", ["第一行\n第二行\r\n\t缩进", "😀 emoji", "\u00b8\u009d DEL\x7f"])
def test_line_breaks_tabs_and_every_real_character_are_accepted(fine: str):
    data = {"actor": SUPERVISOR, "details": fine}
    check_command_text(data)
    command = command_from_data("RecordRefusal", 1, data)
    assert command.details == fine  # type: ignore[attr-defined]


def test_a_command_recorded_before_the_check_still_reads_as_it_was_decided():
    """Update handlers read their command again on replay; refusing it there would wedge a
    case that accepted it under the earlier code."""
    recorded = {"actor": SUPERVISOR, "details": "拒不\x00整改"}
    assert command_from_data("RecordRefusal", 1, recorded).details == "拒不\x00整改"  # type: ignore[attr-defined]
    statement = {"actor": {"id": "ent", "role": "enterprise"}, "statement": "ok\x07"}
    assert credit_command_from_data("FileObjection", 1, statement).statement == "ok\x07"  # type: ignore[attr-defined]
