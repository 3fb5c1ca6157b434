"""The access matrix through the console: every console route the app serves is declared in
``api.console.registry.REGISTRY`` with the roles allowed, and each answers those roles and
refuses every other — 403 ``access.forbidden`` to a session of another role, the sign-in page
(GET) or 401 (other methods) to a visitor without one — and a refused unsafe request changes
nothing.

A page group added later is walked here without a line of this file changing, as long as its
path parameters are named in ``SAMPLES`` (the test says which one is missing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from fastapi.routing import APIRoute

from api.console.registry import REGISTRY, RouteSpec
from tests.api.matrix import OUTSIDE_A, WHO, register
from tests.console.conftest import ROLE_OF, ConsoleHarness, form_token

# A value for each path parameter a console route may have, from the harness (a later page
# group adds its parameters here: a case's hazard id, an enterprise's credit code…).
SAMPLES: dict[str, Callable[[ConsoleHarness], str]] = {
    "name": lambda console: "duban.css",
    "login": lambda console: console.logins["inspector_b"],
    "message_id": lambda console: "1",
    "action": lambda console: "verification",
    "short_code": lambda console: "ZZZZ-ZZZZ-ZZZZ",  # no such document: 404 past the access rule
}
# A path parameter naming a case: the sample is a case of township A, registered by the walk.
# A person of an allowed role outside its scope (OUTSIDE_A) is refused by the services' scope
# rule (403 access.forbidden), as the API refuses them.
CASE_PARAMETERS = ("hazard_id",)


def served_routes(routes: list[Any], prefix: str = "") -> set[tuple[str, str]]:
    """Every (method, path) of ``routes``, into included routers (FastAPI keeps a router
    included as one entry that holds the router and its prefix)."""
    served = set()
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            served |= served_routes(included.routes, prefix + getattr(context, "prefix", ""))
        elif isinstance(route, APIRoute):
            served |= {(m, prefix + route.path) for m in route.methods if m != "HEAD"}
    return served


def console_routes(console: ConsoleHarness) -> set[tuple[str, str]]:
    return {
        (method, path)
        for method, path in served_routes(console.app.routes)
        if path.startswith("/console")
    }


def concrete(spec: RouteSpec, console: ConsoleHarness, case: str = "H-SAMPLE") -> str:
    path = spec.path.replace(":path}", "}")
    while "{" in path:
        name = path[path.index("{") + 1 : path.index("}")]
        if name in CASE_PARAMETERS:
            path = path.replace(f"{{{name}}}", case)
            continue
        assert name in SAMPLES, f"{spec.path}: add a sample for {{{name}}} to SAMPLES"
        path = path.replace(f"{{{name}}}", SAMPLES[name](console))
    return path


def names_a_case(spec: RouteSpec) -> bool:
    return any(f"{{{name}}}" in spec.path for name in CASE_PARAMETERS)


def state(console: ConsoleHarness) -> Any:
    """What a refused request must leave as it was: the accounts, the open sessions, the
    account log but for sign-ins (the walk signs in), and the event store's head."""
    with console.engine.connect() as conn:
        return (
            conn.execute(sa.text("SELECT * FROM accounts ORDER BY login")).all(),
            conn.execute(
                sa.text("SELECT count(*) FROM account_log WHERE kind <> 'signed_in'")
            ).scalar_one(),
            conn.execute(sa.text("SELECT coalesce(max(position), 0) FROM events")).scalar_one(),
        )


def test_every_console_route_is_declared_with_its_roles(console: ConsoleHarness):
    served = console_routes(console)
    declared = set(REGISTRY)
    assert served - declared == set(), "served but not declared with ConsoleRouter.page"
    assert declared - served == set(), "declared but not served"
    for spec in REGISTRY.values():
        concrete(spec, console)  # every path parameter has a sample


async def test_every_console_route_answers_its_roles_and_refuses_everyone_else(
    console: ConsoleHarness,
):
    sessions = {who: await console.sign_in(who) for who in ROLE_OF}
    tokens = {
        who: form_token((await client.get("/console/public/listings")).text)
        for who, client in sessions.items()
    }
    anonymous = console.client()
    anonymous_token = form_token((await anonymous.get("/console/sign-in")).text)
    case = await register(console.api) if any(map(names_a_case, REGISTRY.values())) else ""
    walked = []
    for spec in sorted(REGISTRY.values(), key=lambda s: (s.method != "GET", s.path)):
        path = concrete(spec, console, case)
        before = state(console)
        for who in WHO:
            client = anonymous if who == "anonymous" else sessions[who]
            allowed = spec.roles is None or (who != "anonymous" and ROLE_OF[who] in spec.roles)
            if spec.method == "GET":
                answer = await client.get(path)
                context = (spec.method, path, who, answer.status_code, answer.text[:300])
                if allowed and names_a_case(spec) and who in OUTSIDE_A:
                    assert answer.status_code == 403, context
                    assert "access.forbidden" in answer.text, context
                elif allowed and "{short_code}" in spec.path:
                    assert answer.status_code == 404 and "not_found" in answer.text, context
                elif allowed:
                    assert answer.status_code in (200, 204, 303), context
                    if answer.status_code == 303:  # a page that sends on (the home page)
                        assert not answer.headers["location"].startswith("/console/sign-in")
                elif who == "anonymous":
                    assert answer.status_code == 303, context
                    assert answer.headers["location"].startswith("/console/sign-in?next="), context
                else:
                    assert answer.status_code == 403, context
                    assert "access.forbidden" in answer.text, context
                continue
            if allowed:
                # What an allowed unsafe request does is its page group's own test; without
                # the page's token it is refused before anything runs, for its own roles too.
                bare = await client.request(spec.method, path, data={})
                context = (spec.method, path, who, bare.status_code, bare.text[:300])
                assert bare.status_code == 403 and "csrf.invalid" in bare.text, context
                continue
            token = anonymous_token if who == "anonymous" else tokens[who]
            answer = await client.request(spec.method, path, data={"csrf_token": token})
            context = (spec.method, path, who, answer.status_code, answer.text[:300])
            expected = 401 if who == "anonymous" else 403
            assert answer.status_code == expected, context
            rule = "auth.required" if who == "anonymous" else "access.forbidden"
            assert rule in answer.text, context
            # Without the page's token, everyone is refused before the role is looked at.
            bare = await client.request(spec.method, path, data={})
            assert bare.status_code == 403 and "csrf.invalid" in bare.text, context
        assert state(console) == before, f"a refused {spec.method} {path} changed something"
        walked.append(f"{spec.method} {spec.path}")
    assert len(walked) == len(REGISTRY)
