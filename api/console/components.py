"""What the shared templates (``templates/components/``) are given: a pager over the API's page
shape and a form's refusals by field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from api.console.errors import refusal_of
from api.services.refusals import (
    Refused,
)


@dataclass(frozen=True)
class Pager:
    """One page of a list in the API's shape ``{items, total, limit, offset}``, with the links
    to the pages before and after it (the request's other query parameters kept)."""

    items: tuple[Any, ...]
    total: int
    limit: int
    offset: int
    previous_url: str | None
    next_url: str | None

    @property
    def first(self) -> int:
        return self.offset + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.offset + len(self.items)

    @property
    def page(self) -> int:
        return self.offset // self.limit + 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit))

    @staticmethod
    def of(request: Request, page: Mapping[str, Any] | Any) -> Pager:
        if not isinstance(page, Mapping):  # a dataclass page of the read models
            page = {name: getattr(page, name) for name in ("items", "total", "limit", "offset")}
        total, limit, offset = int(page["total"]), int(page["limit"]), int(page["offset"])
        items = tuple(page["items"])

        def url(at: int) -> str:
            moved = request.url.include_query_params(offset=at, limit=limit)
            return f"{moved.path}?{moved.query}"  # relative: the same host, always

        previous_url = url(max(0, offset - limit)) if offset > 0 else None
        next_url = url(offset + limit) if offset + len(items) < total else None
        return Pager(items, total, limit, offset, previous_url, next_url)


@dataclass
class FormErrors:
    """A form's refusals, the API's ``{rule, message, field}`` each, found by field name."""

    refusals: list[Refused] = field(default_factory=list)

    def add(self, exc: Exception) -> None:
        refusal = refusal_of(exc)
        if refusal is None:
            raise exc
        self.refusals.append(refusal)

    def of(self, name: str) -> list[Refused]:
        return [r for r in self.refusals if r.field == name]

    def __bool__(self) -> bool:
        return bool(self.refusals)
