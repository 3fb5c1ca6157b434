"""Console tests: the real app over ASGI (HTTP-level rules) and served by uvicorn to Debian's
Chromium driven by Playwright (``browser`` marker), on the real PostgreSQL and the Temporal
time-skipping server, with one account per caller of the API's access matrix."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from activities.eventstore import EventStore
from activities.projections import Projector
from activities.settings import Settings
from activities.temporal_setup import (
    register_search_attributes,
)
from api.app import create_app
from api.http_server import uvicorn_config
from api.passwords import hash_password
from api.up_parts import ApiServer
from tests.api.conftest import ApiHarness, build_grid, build_services, isolated_api, own_store
from tests.workflows.conftest import BIN, test_settings, time_skipping_env
from worker import build_worker

# Fixtures shared with the API tests.
__all__ = ["isolated_api", "own_store", "test_settings", "time_skipping_env"]

PASSWORD = "correct horse battery"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROLE_OF = {
    "inspector_a": "inspector",
    "inspector_b": "inspector",
    "supervisor_a": "supervisor",
    "supervisor_b": "supervisor",
    "supervisor_county": "supervisor",
    "enterprise_a": "enterprise",
    "enterprise_b": "enterprise",
    "auditor": "auditor",
    "admin": "admin",
}
NAMES = {
    "inspector_a": "网格员 周",
    "inspector_b": "网格员 吴",
    "supervisor_a": "密州街道 孙站长",
    "supervisor_b": "龙都街道 钱站长",
    "supervisor_county": "县应急管理局 赵局长",
    "enterprise_a": "机械公司安全员 刘",
    "enterprise_b": "化工公司安全员 陈",
    "auditor": "审计 孙",
    "admin": "系统管理员 周",
}
_HASHES: dict[str, str] = {}


def the_hash() -> str:
    """One argon2id hash of ``PASSWORD`` with the real parameters, made once per run (each
    takes about 0.3 s): the accounts of the fixtures share it."""
    if "hash" not in _HASHES:
        _HASHES["hash"] = hash_password(PASSWORD)
    return _HASHES["hash"]


def console_settings(base: Settings, **overrides: Any) -> Settings:
    """The console's settings of these tests: three failures lock a name (the answers wait
    0.5 + 1 + 2 s), and the address limit stays above what one test run sends."""
    values: dict[str, Any] = {
        "console_account_failures": 3,
        "console_address_failures": 40,
        **overrides,
    }
    return base.model_copy(update=values)


def add_accounts(engine: Engine, grid: Any) -> dict[str, str]:
    """An account for each caller of the access matrix; returns who → login."""
    scopes = {
        "inspector_a": grid.township_a,
        "inspector_b": grid.township_b,
        "supervisor_a": grid.township_a,
        "supervisor_b": grid.township_b,
        "supervisor_county": grid.county,
        "enterprise_a": grid.enterprise_a,
        "enterprise_b": grid.enterprise_b,
        "auditor": None,
        "admin": None,
    }
    logins = {who: f"{who.replace('_', '-')}-{grid.suffix.lower()}" for who in ROLE_OF}
    with engine.begin() as conn:
        for who, login in logins.items():
            conn.execute(
                sa.text(
                    "INSERT INTO accounts (login, display_name, role, scope, password_hash)"
                    " VALUES (:l, :d, :r, :s, :h)"
                ),
                {"l": login, "d": NAMES[who], "r": ROLE_OF[who], "s": scopes[who], "h": the_hash()},
            )
    return logins


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:2000]
    return found.group(1)


@dataclass
class ConsoleHarness:
    """The console over ASGI on the API harness's services, with accounts for every caller."""

    api: ApiHarness
    app: FastAPI
    logins: dict[str, str]
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def engine(self) -> Engine:
        return self.api.services.engine

    def client(self, address: str = "127.0.0.1") -> httpx.AsyncClient:
        """A browser of its own (its own cookies), at ``address``."""
        transport = httpx.ASGITransport(app=self.app, client=(address, 50000))
        client = httpx.AsyncClient(transport=transport, base_url="http://duban.test")
        self.clients.append(client)
        return client

    async def sign_in(
        self, who: str, password: str = PASSWORD, client: httpx.AsyncClient | None = None
    ) -> httpx.AsyncClient:
        client = client or self.client()
        answer = await post_sign_in(client, self.logins.get(who, who), password)
        assert answer.status_code == 303, answer.text[:1000]
        return client

    def log(self, login: str) -> list[tuple[str, str | None]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT kind, detail FROM account_log WHERE login = :l ORDER BY id"),
                {"l": login},
            ).all()
        return [(r[0], r[1]) for r in rows]


async def post_sign_in(
    client: httpx.AsyncClient, login: str, password: str, **extra: str
) -> httpx.Response:
    page = await client.get("/console/sign-in")
    return await client.post(
        "/console/sign-in",
        data={"login": login, "password": password, "csrf_token": form_token(page.text), **extra},
    )


@pytest.fixture()
async def console(isolated_api: ApiHarness) -> AsyncIterator[ConsoleHarness]:
    app = create_app(console_settings(isolated_api.settings), services=isolated_api.services)
    harness = ConsoleHarness(
        isolated_api, app, add_accounts(isolated_api.services.engine, isolated_api.grid)
    )
    try:
        yield harness
    finally:
        for client in harness.clients:
            await client.aclose()


# ---------------------------------------------------------------------- the served console


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServedConsole:
    """The app served by uvicorn over real HTTP, with a worker, a grid, accounts and a few
    cases (one of them listed), and its API harness for seeding and reading."""

    base_url: str
    api: ApiHarness
    logins: dict[str, str]
    settings: Settings

    @property
    def engine(self) -> Engine:
        return self.api.services.engine

    def url(self, path: str) -> str:
        return self.base_url + path


@asynccontextmanager
async def served(
    env: WorkflowEnvironment, settings: Settings, store: EventStore
) -> AsyncIterator[ServedConsole]:
    queue = f"console-{uuid.uuid4().hex[:8]}"
    parts = build_worker(env.client, settings, store, queue)
    services = build_services(env.client, settings, store, queue)
    grid = build_grid(services.reference, store.engine)
    app = create_app(console_settings(settings), services=services)
    port = free_port()
    server = ApiServer(uvicorn_config(app, "127.0.0.1", port))
    try:
        async with (
            parts.worker,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://duban.test"
            ) as client,
        ):
            harness = ApiHarness(client, services, grid, env, app, settings)
            serving = asyncio.create_task(server.serve())
            while not server.started:
                if serving.done():
                    serving.result()
                await asyncio.sleep(0.02)
            try:
                yield ServedConsole(
                    f"http://127.0.0.1:{port}", harness, add_accounts(store.engine, grid), settings
                )
            finally:
                server.should_exit = True
                await serving
    finally:
        parts.executor.shutdown(wait=False)


async def seed_cases(api: ApiHarness) -> dict[str, str]:
    """A few cases in township A and B, the major one listed at the county on registration
    (the public register shows it), brought into the read models."""
    from tests.api.matrix import in_days
    from tests.api.test_api_hazards import hazard

    grid = api.grid
    made: dict[str, str] = {}
    bodies = {
        "general_a": hazard(grid, deadline=in_days(20)),
        "major_a": hazard(
            grid,
            hazard_class="major",
            checklist_clause="工贸企业重大事故隐患判定标准 第四条第（一）项",
            description="粉尘涉爆除尘系统未按规定设置泄爆装置",
            location="抛光车间",
            deadline=in_days(60),
        ),
        "general_b": hazard(
            grid,
            credit_code=grid.enterprise_b,
            description="危化品仓库防火门损坏, 无法自动关闭",
            location="二号仓库",
            deadline=in_days(10),
        ),
    }
    who = {"general_a": "inspector_a", "major_a": "inspector_a", "general_b": "inspector_b"}
    for name, body in bodies.items():
        created = await api.client.post(
            "/api/v1/hazards", json=body, headers=api.grid.headers(who[name])
        )
        assert created.status_code == 201, created.text
        made[name] = created.json()["hazard_id"]
    Projector(api.store).catch_up()
    return made


@pytest.fixture(scope="module")
async def served_console(test_settings: Settings, databases: Any) -> AsyncIterator[ServedConsole]:
    """One served console for a module's browser tests (a server, a worker and a database of
    its own; each test signs in as it needs)."""
    from activities.database import create_app_engine
    from tests.conftest import APP_ROLE

    engine = create_app_engine(databases.create("console"), APP_ROLE, pool_size=10)
    store = EventStore(engine)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server")
    )
    try:
        await register_search_attributes(env.client, "default")
        async with served(env, test_settings, store) as console:
            await seed_cases(console.api)
            yield console
    finally:
        await env.shutdown()
        store.close()
        engine.dispose()


# ---------------------------------------------------------------------- the browser


def require_chromium() -> None:
    """Debian's chromium (``apt-get install -y chromium fonts-noto-cjk``); ``.ci/run`` installs
    it and sets DUBAN_REQUIRE_BROWSER, so CI never skips the browser tests."""
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} not found: apt-get install -y chromium fonts-noto-cjk"
        if os.environ.get("DUBAN_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Any]:
    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture()
async def browser_context(chromium: Any) -> AsyncIterator[Any]:
    """A fresh browser profile (no cookies), desktop width."""
    context = await chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture(scope="session")
def screenshots_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where the tests write their screenshots: ``DUBAN_SCREENSHOTS_DIR`` (``make screenshots``
    sets docs/screenshots), else a temporary directory."""
    configured = os.environ.get("DUBAN_SCREENSHOTS_DIR")
    path = Path(configured) if configured else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    yield path
