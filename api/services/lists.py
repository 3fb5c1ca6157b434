"""The lists of the read models, narrowed to what a principal may see: the case list (the
API's and ``duban hazard list``'s: it needs the database only, not Temporal) and the
enterprise list.

A filter naming a grid unit or an enterprise that does not exist is 404, a credit code whose
check fails 422 — never an empty page that reads as "nothing there". Sync: the routes that
call these are plain ``def`` (FastAPI runs them in its thread pool).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from activities.projections.read_models.cases import (
    CaseFilter,
    CasePage,
    list_cases,
)
from activities.projections.read_models.enterprises import (
    EnterprisePage,
)
from activities.projections.read_models.enterprises import (
    list_enterprises as enterprise_rows,
)
from activities.reference_data import ReferenceData
from api.auth import Principal
from api.services.access import grid_scope_of, require_grid_unit_filter
from api.services.context import ServiceContext
from api.services.refusals import Refused, credit_code_refusal, forbidden
from domain.credit import (
    unrecorded_rating,
)
from domain.credit_code import is_valid_credit_code


def list_hazards(
    engine: Engine,
    reference: ReferenceData,
    principal: Principal,
    *,
    now: datetime,
    grid_unit: str | None = None,
    statuses: list[str] | None = None,
    listed_level: str | None = None,
    hazard_class: str | None = None,
    listed: bool | None = None,
    overdue: bool | None = None,
    enterprise: str | None = None,
    open_only: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> CasePage:
    """The case list of the read model, narrowed to what ``principal`` may see."""
    require_grid_unit_filter(reference, grid_unit, "grid_unit")
    if enterprise is not None and not is_valid_credit_code(enterprise):
        raise credit_code_refusal("enterprise")
    if principal.role == "enterprise":
        if enterprise not in (None, principal.scope):
            raise forbidden("an enterprise sees only its own hazards")
        enterprise = principal.scope
    elif enterprise is not None and reference.enterprise(enterprise) is None:
        raise Refused(404, "not_found", f"enterprise {enterprise} not found", "enterprise")
    return list_cases(
        engine,
        now=now,
        filters=CaseFilter(
            grid_unit=grid_scope_of(principal, reference, grid_unit),
            statuses=tuple(statuses) if statuses else None,
            listed_level=listed_level,
            hazard_class=hazard_class,
            listed=listed,
            overdue=overdue,
            credit_code=enterprise,
            open_only=open_only,
        ),
        limit=limit,
        offset=offset,
    )


class ReadModelLists(ServiceContext):
    """The lists as the services' parts (database, reference data, clock, policy) read them."""

    def list_hazards(self, principal: Principal, **filters: Any) -> CasePage:
        """``list_hazards`` at the services' clock (``filters``: its keyword arguments)."""
        return list_hazards(self.engine, self.reference, principal, now=self.clock(), **filters)

    def list_enterprises(
        self,
        principal: Principal,
        *,
        grid_unit: str | None,
        rating: str | None,
        blacklisted: bool | None,
        limit: int,
        offset: int,
    ) -> EnterprisePage:
        """Enterprises of ``grid_unit``'s subtree with their cases and credit: an inspector's
        or a supervisor's own subtree, an enterprise's own line. Every enterprise has a
        rating: one with no credit record has the policy's grade for nothing recorded."""
        require_grid_unit_filter(self.reference, grid_unit, "grid_unit")
        own: str | None = None
        if principal.role == "enterprise":
            own = principal.scope or ""
        else:
            grid_unit = grid_scope_of(principal, self.reference, grid_unit)
        return enterprise_rows(
            self.engine,
            now=self.clock(),
            grid_unit=grid_unit,
            rating=rating,
            blacklisted=blacklisted,
            credit_code=own,
            limit=limit,
            offset=offset,
            unrecorded=unrecorded_rating(self.policy),
        )
