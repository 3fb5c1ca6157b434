"""The home page: each role goes to its start page (``ConsoleRouter.start_page``)."""

from __future__ import annotations

from starlette.responses import RedirectResponse

from api.auth import ROLES
from api.console.deps import SignedIn
from api.console.registry import ConsoleRouter, start_page_of

router = ConsoleRouter("home")


@router.page("/console/", roles=ROLES)
def home(viewer: SignedIn) -> RedirectResponse:
    return RedirectResponse(start_page_of(viewer.role), status_code=303)
