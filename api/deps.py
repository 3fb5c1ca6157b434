"""The routes' dependencies and parameter types, declared once: the services, the principal
behind the bearer token, the Idempotency-Key header, and the path and query parameters every
resource shares (with the limits the OpenAPI document states).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Header, Path, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth import Principal, authenticate
from api.schemas import CODE_PATTERN, HAZARD_ID_PATTERN
from api.services import Services
from api.services.refusals import Refused
from api.text_input import CREDIT_CODE_PATTERN, IDEMPOTENCY_KEY_PATTERN


async def services_of(request: Request) -> Services:
    """The app's services (built by its lifespan, or given to ``create_app``)."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(services_of)]

# The OpenAPI document declares the bearer token as the operations' security (not as a header
# parameter): whatever the header holds — nothing, another scheme, a value too long to be a
# token — the answer is 401, never a 422 about the header's shape.
BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    bearerFormat="dbn_…",
    description="a token issued by `duban token create`",
)


def principal_of(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
) -> Principal:
    """Who sends the request: the bearer token's holder, or the person of a console session
    (whose CSRF token an unsafe request must carry). A plain ``def``: the token or session is
    looked up in the database, so FastAPI runs it in its thread pool, off the event loop."""
    if credentials is None:
        from api.console.deps import session_principal

        session = session_principal(request)
        if session is not None:
            return session
        raise Refused(401, "auth.required", "send Authorization: Bearer <token>", "authorization")
    principal = authenticate(services.engine, credentials.credentials)
    if principal is None:
        raise Refused(401, "auth.invalid", "unknown or revoked token", "authorization")
    return principal


PrincipalDep = Annotated[Principal, Depends(principal_of)]

# A client's own name for one request: the same key with the same request gets the first
# answer again and changes nothing; with another request it is refused.
IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=200,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="retry-safe: the same key and body return the first answer, applied once "
        "(visible ASCII, spaces inside only)",
    ),
]

HazardId = Annotated[
    str, Path(max_length=80, pattern=HAZARD_ID_PATTERN, description="the hazard's id")
]
CreditCode = Annotated[
    str,
    Path(min_length=18, max_length=18, pattern=CREDIT_CODE_PATTERN, description="统一社会信用代码"),
]
GridCodePath = Annotated[str, Path(max_length=64, pattern=CODE_PATTERN)]
GridCodeQuery = Annotated[str | None, Query(max_length=64, pattern=CODE_PATTERN)]
CreditCodeQuery = Annotated[
    str | None, Query(min_length=18, max_length=18, pattern=CREDIT_CODE_PATTERN)
]
# Every list pages the same way (``api.schemas.Page``): at most 500 items a page.
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
ListingLevelQuery = Literal["county", "city", "province"]
CaseStatus = Literal["rectifying", "reported", "escalated", "referred", "closed", "withdrawn"]
