"""What every body shares: the strict request base, the limits of codes and ids, evidence
as commands cite it, and the page every list answers in."""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

from api.text_input import CREDIT_CODE_PATTERN, refuse_unstorable_text, text_field

CODE_PATTERN = r"^[A-Za-z0-9._-]+$"


HAZARD_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$"  # as workflows/ids.py checks it


GridCode = Field(min_length=1, max_length=64, pattern=CODE_PATTERN)


CreditCode = Field(
    min_length=18, max_length=18, pattern=CREDIT_CODE_PATTERN, description="统一社会信用代码"
)


class Strict(BaseModel):
    """A request body: no unknown keys, outer spaces dropped, and no text the record cannot
    hold in any field (``input.text_invalid``, naming it)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        return refuse_unstorable_text(value)


class AddedLater(Strict):
    """A body whose fields in ``ADDED_LATER`` are left out of its dump while they hold their
    default: the Idempotency-Key fingerprint of a body sent before they existed stays the same
    (a retry across an upgrade is the same request)."""

    ADDED_LATER: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _omit_added_defaults(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        for name in self.ADDED_LATER:
            if isinstance(data, dict) and getattr(self, name) in (None, []):
                data.pop(name, None)
        return data


class EvidenceIn(AddedLater):
    """Evidence cited by a command: a file uploaded to duban (``sha256`` as ``POST /files``
    answered it, and optionally the ``name`` to show; no ``uri``), or a reference typed by a
    person (``uri`` and ``sha256``)."""

    ADDED_LATER = ("uri", "name")
    uri: str | None = text_field(
        None,
        max_length=500,
        required=False,
        description="Where the photo/document is; leave out to cite an uploaded file",
    )
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="SHA-256 of its content")
    name: str | None = text_field(
        None,
        max_length=1000,
        required=False,
        description="The uploaded file's name to show (as POST /files answered it)",
    )


Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    """One page of a list: every list of the API answers in this shape."""

    items: list[Item]
    total: int = Field(description="how many match, all pages together")
    limit: int = Field(description="the most items a page holds (the request's limit)")
    offset: int = Field(description="how many matching items come before this page")


# An instant as the case list and the history spell it (RFC 3339, e.g.
# 2026-12-08T01:30:00+00:00): text passed through as the record holds it.
InstantText = Field(json_schema_extra={"format": "date-time"})
