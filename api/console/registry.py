"""Console routes, declared with the roles that may use them: the declaration is the check.

A page group (one module in ``api/console/pages/``) makes a ``ConsoleRouter`` and declares each
route with ``@router.page(path, roles=…, methods=…)``. That one line

- adds the route (its HTML refusals, its CSRF check on unsafe methods),
- refuses every other role with 403 ``access.forbidden`` and a visitor without a session with a
  redirect to the sign-in page (GET) or 401 (other methods) — before the page's own code runs,
- and enters it in ``REGISTRY``, which the access-matrix test walks: every console route of the
  app must be in it (``tests/console/test_console_matrix.py``), and each answers its roles and
  refuses the others.

Rules of scope (which grid unit, which enterprise, which case) stay the services' own
(``api.services``): a page calls them with the viewer's ``Principal`` and shows their refusals.
A group also adds its navigation entries (``nav``) and, for a role whose start page it is,
``start_page`` with a priority (the home page sends each role to its highest).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import APIRouter, Depends

from api.auth import ROLES
from api.console.deps import csrf_protect, require_roles
from api.console.errors import ConsoleRoute

PUBLIC: None = None  # roles of a page anyone may open, signed in or not
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    roles: tuple[str, ...] | None  # None: public
    group: str


@dataclass(frozen=True)
class NavEntry:
    path: str
    label: str  # an i18n key
    roles: tuple[str, ...] | None
    order: int


REGISTRY: dict[tuple[str, str], RouteSpec] = {}
NAVIGATION: list[NavEntry] = []
_START_PAGES: dict[str, tuple[int, str]] = {}


class ConsoleRouter(APIRouter):
    """The routes of one page group."""

    def __init__(self, group: str) -> None:
        super().__init__(route_class=ConsoleRoute, include_in_schema=False)
        self.group = group

    def page(
        self,
        path: str,
        *,
        roles: tuple[str, ...] | None,
        methods: tuple[str, ...] = ("GET",),
        plain: bool = False,
        **options: Any,
    ) -> Callable[[F], F]:
        """Declare a route. ``plain``: a public GET that needs no session (static files): no
        session is looked up for it."""
        if not path.startswith("/console"):
            raise ValueError(f"console routes live under /console: {path}")
        if roles is not None and (not roles or not set(roles) <= set(ROLES)):
            raise ValueError(f"{path}: roles must be some of {ROLES}, or PUBLIC")
        for method in methods:
            key = (method, path)
            if key in REGISTRY:
                raise ValueError(f"console route {method} {path} is declared twice")
            REGISTRY[key] = RouteSpec(method, path, roles, self.group)
        if plain and (roles is not None or set(methods) - {"GET", "HEAD"}):
            raise ValueError(f"{path}: only a public GET may be plain")
        dependencies = [] if plain else [Depends(csrf_protect), Depends(require_roles(roles))]

        def declare(endpoint: F) -> F:
            self.add_api_route(
                path,
                endpoint,
                methods=list(methods),
                dependencies=dependencies,
                response_model=None,
                **options,
            )
            return endpoint

        return declare

    def nav(self, path: str, label: str, *, roles: tuple[str, ...] | None, order: int) -> None:
        """An entry of the header's navigation, for ``roles`` (None: everyone)."""
        NAVIGATION.append(NavEntry(path, label, roles, order))
        NAVIGATION.sort(key=lambda entry: (entry.order, entry.path))

    def start_page(self, role: str, path: str, *, priority: int) -> None:
        """Where the home page sends ``role``: the page of the highest priority declared."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role}")
        current = _START_PAGES.get(role)
        if current is None or priority > current[0]:
            _START_PAGES[role] = (priority, path)


def start_page_of(role: str) -> str:
    return _START_PAGES[role][1]


def navigation_for(role: str | None) -> list[NavEntry]:
    return [
        entry
        for entry in NAVIGATION
        if entry.roles is None or (role is not None and role in entry.roles)
    ]
