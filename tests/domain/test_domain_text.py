"""A person's text reaches the record only if the record can hold it: control characters
(other than tab and line breaks) and lone surrogates are refused when a command is read,
naming the field — never accepted and then refused by the event store."""

from __future__ import annotations

import pytest

from domain.case import command_from_data
from domain.credit import credit_command_from_data
from domain.errors import DomainError

SUPERVISOR = {"id": "sup-1", "role": "supervisor", "unit_code": "P37-C07-X82"}


@pytest.mark.parametrize("bad", ["拒不\x00整改", "\x1b[31m", "\ud931 lone", "x\udec6"])
def test_a_command_with_unstorable_text_is_refused_naming_the_field(bad: str):
    with pytest.raises(DomainError) as refused:
        command_from_data("RecordRefusal", 1, {"actor": SUPERVISOR, "details": bad})
    assert refused.value.rule == "input.text_invalid"
    assert refused.value.field == "details"


def test_nested_text_is_named_by_its_path():
    with pytest.raises(DomainError) as refused:
        credit_command_from_data(
            "FileObjection",
            1,
            {"actor": {"id": "ent", "role": "enterprise"}, "statement": "ok\x07"},
        )
    assert refused.value.field == "statement"
    with pytest.raises(DomainError) as nested:
        command_from_data(
            "ReportRectification",
            1,
            {
                "actor": {"id": "ent", "role": "enterprise"},
                "summary": "已整改",
                "evidence": [{"uri": "s3://e/1.jpg\x00", "sha256": "a" * 64}],
            },
        )
    assert nested.value.field == "evidence[0].uri"


@pytest.mark.parametrize("fine", ["第一行\n第二行\r\n\t缩进", "😀 emoji", "\u00b8\u009d DEL\x7f"])
def test_line_breaks_tabs_and_every_real_character_are_accepted(fine: str):
    command = command_from_data("RecordRefusal", 1, {"actor": SUPERVISOR, "details": fine})
    assert command.details == fine  # type: ignore[attr-defined]
