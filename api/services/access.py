"""Who may read or act on what: a case (its grid and its enterprise), an enterprise's record,
a filter that names a grid unit; and who a token's holder is to the domain (``actor_of``).

Every check here reads the database (the case's first event, the reference data): call them
from sync code or off the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from activities.reference_data import ReferenceData
from api.auth import Principal, with_article
from api.services.context import ServiceContext
from api.services.refusals import Refused, forbidden, not_found
from domain.case.commands import Actor, Role
from workflows.ids import case_stream_id

READ_ROLES = ("inspector", "enterprise", "supervisor", "auditor", "admin")


@dataclass(frozen=True)
class CaseFacts:
    """What access control needs to know about a case: where it is and whose it is."""

    hazard_id: str
    credit_code: str
    grid_codes: tuple[str, ...]


def actor_of(principal: Principal, reference: ReferenceData) -> Actor:
    """The person behind ``principal`` as the domain sees them: a supervisor or inspector acts
    for their grid unit, named with its level (the credit rules check the deciding level)."""
    if principal.role not in ("supervisor", "inspector") or principal.scope is None:
        return Actor(principal.actor_id, Role(principal.role))
    unit = reference.grid_unit(principal.scope)
    level = unit.level if unit is not None else None
    return Actor(principal.actor_id, Role(principal.role), principal.scope, level)


def require_grid_unit_filter(reference: ReferenceData, code: str | None, field: str) -> None:
    """A filter that names a grid unit names one that exists (404 otherwise, as GET
    /enterprises answers)."""
    if code is not None and reference.grid_unit(code) is None:
        raise Refused(404, "not_found", f"grid unit {code} not found", field)


def grid_scope_of(
    principal: Principal, reference: ReferenceData, grid_unit: str | None
) -> str | None:
    """The grid subtree a list may show ``principal``: an inspector's or a supervisor's own
    subtree (or ``grid_unit`` inside it; outside it is 403), anyone else's ``grid_unit``."""
    if principal.role not in ("inspector", "supervisor"):
        return grid_unit
    scope = principal.scope or ""
    if grid_unit is None:
        return scope
    if not reference.is_within(grid_unit, scope):
        raise forbidden(f"grid unit {grid_unit} is outside your grid")
    return grid_unit


class AccessRules(ServiceContext):
    """The access rules of cases and enterprise records, over the services' parts."""

    def case_facts(self, hazard_id: str) -> CaseFacts:
        try:
            stream = case_stream_id(hazard_id)
        except ValueError as exc:
            raise Refused(422, "hazard_id.invalid", str(exc), "hazard_id") from exc
        first = self.store.read_stream(stream, 1, 1)
        if not first:
            raise not_found(f"hazard {hazard_id}")
        data = first[0].data
        return CaseFacts(
            hazard_id,
            data["credit_code"],
            tuple(unit["code"] for unit in data["grid_path"]),
        )

    @staticmethod
    def can_read_case(principal: Principal, facts: CaseFacts) -> bool:
        if principal.role in ("auditor", "admin"):
            return True
        if principal.role == "enterprise":
            return principal.scope == facts.credit_code
        return principal.scope in facts.grid_codes

    def require_read(self, principal: Principal, hazard_id: str) -> CaseFacts:
        facts = self.case_facts(hazard_id)
        if not self.can_read_case(principal, facts):
            raise forbidden(f"hazard {hazard_id} is outside your scope")
        return facts

    def authorise_act(self, principal: Principal, hazard_id: str, roles: tuple[str, ...]) -> None:
        """A person of one of ``roles`` who may read the case (its grid, its enterprise)."""
        if principal.role not in roles:
            raise forbidden(
                f"{with_article(principal.role)} may not do this; allowed: {', '.join(roles)}"
            )
        self.require_read(principal, hazard_id)

    def require_enterprise_access(
        self, principal: Principal, credit_code: str, roles: tuple[str, ...] = READ_ROLES
    ) -> list[str]:
        """The enterprise's grid codes, if ``principal`` (in ``roles``) may see it."""
        if principal.role not in roles:
            raise forbidden(f"{with_article(principal.role)} may not do this")
        enterprise = self.reference.enterprise(credit_code)
        if enterprise is None:
            raise not_found(f"enterprise {credit_code}")
        codes = [u.code for u in self.reference.path_to_root(enterprise.grid_code)]
        if principal.role == "enterprise" and principal.scope != credit_code:
            raise forbidden("an enterprise sees only its own record")
        if principal.role in ("inspector", "supervisor") and principal.scope not in codes:
            raise forbidden(f"enterprise {credit_code} is outside your grid")
        return codes
