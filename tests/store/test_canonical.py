"""The canonical JSON and instant spellings the hash chain is computed over."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activities.eventstore.chain import (
    MAX_JSON_DEPTH,
    MAX_JSON_INT,
    MIN_JSON_INT,
    NotCanonicalisable,
    canonical_instant,
    canonical_json,
)

# Anything a caller might put in event data: JSON values and the near misses (tuples, sets,
# integer keys, big integers, NaN, lone surrogates, bytes, datetimes).
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(codec=None, exclude_categories=())),
    st.binary(max_size=4),
    st.datetimes(),
)
json_like = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children),
        st.dictionaries(st.text(max_size=5), children, max_size=4),
        st.dictionaries(st.integers(0, 3), children, min_size=1, max_size=2),
    ),
    max_leaves=20,
)


def exactly_equal(given_value: Any, read_back: Any) -> bool:
    """Same JSON value and same JSON type, all the way down (True is not 1, 1 is not 1.0)."""
    if type(given_value) is not type(read_back):
        return False
    if isinstance(given_value, dict):
        return given_value.keys() == read_back.keys() and all(
            exactly_equal(given_value[key], read_back[key]) for key in given_value
        )
    if isinstance(given_value, list):
        return len(given_value) == len(read_back) and all(
            exactly_equal(a, b) for a, b in zip(given_value, read_back, strict=True)
        )
    return bool(given_value == read_back)


@settings(max_examples=400, deadline=None)
@given(json_like)
def test_canonical_json_reads_back_exactly_or_refuses(value: Any):
    try:
        text = canonical_json(value)
    except NotCanonicalisable:
        return
    assert exactly_equal(value, orjson.loads(text))
    assert canonical_json(orjson.loads(text)) == text, "canonical text is a fixed point"


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(min_value=MIN_JSON_INT, max_value=MAX_JSON_INT),
            st.floats(allow_nan=False, allow_infinity=False),
            st.text(),
        ),
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(st.text(), children, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_every_plain_json_value_is_accepted(value: Any):
    assert exactly_equal(value, orjson.loads(canonical_json(value)))


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"amount": MAX_JSON_INT + 1}, ".amount"),
        ({"amount": MIN_JSON_INT - 1}, ".amount"),
        ({"items": [0, {"n": 2**64}]}, ".items[1].n"),
        ({"odd key": math.nan}, '["odd key"]'),
        ({"v": "\udfff"}, ".v"),
        ({"v": (1,)}, ".v"),
        ({"v": {1: 2}}, ".v"),
        ({"v": b"bytes"}, ".v"),
    ],
)
def test_a_refusal_names_where_the_value_is(value: Any, path: str):
    with pytest.raises(NotCanonicalisable) as caught:
        canonical_json(value)
    assert caught.value.path == path


def test_the_64_bit_limits_themselves_are_accepted():
    assert canonical_json({"a": MAX_JSON_INT, "b": MIN_JSON_INT}) == (
        '{"a":9223372036854775807,"b":-9223372036854775808}'
    )


def test_nesting_is_limited_before_the_interpreter_would_give_up():
    value: list[Any] = []
    for _ in range(MAX_JSON_DEPTH):
        value = [value]
    with pytest.raises(NotCanonicalisable, match="nested more than"):
        canonical_json(value)
    circular: list[Any] = []
    circular.append(circular)
    with pytest.raises(NotCanonicalisable, match="nested more than"):
        canonical_json(circular)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(999, 3, 4, 5, 6, 7, 8, tzinfo=UTC), "0999-03-04T05:06:07.000008Z"),
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00.000000Z"),
        (
            datetime(2026, 11, 2, 17, 30, tzinfo=timezone(timedelta(hours=8))),
            "2026-11-02T09:30:00.000000Z",
        ),
    ],
)
def test_instants_are_spelled_with_four_digit_years_as_verification_spells_them(moment, text):
    assert canonical_instant(moment) == text


def test_an_instant_that_leaves_the_calendar_in_utc_is_refused():
    with pytest.raises(NotCanonicalisable, match=r"years 1\.\.9999"):
        canonical_instant(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=8))))
