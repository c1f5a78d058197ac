"""Shared fixtures: an app on SQLite or PostgreSQL, shops with keys for every role."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from liveloop import migrate
from liveloop.core.container import Container
from liveloop.core.db import create_engine
from liveloop.settings import Settings
from liveloop.shops import Role, do_create_shop
from liveloop.web.app import create_app
from tests.backends import PG_ENV, backend_url

T = TypeVar("T")


def run_async(fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, even where a loop is already running
    in this thread (Playwright's sync API keeps one): then it runs on a fresh thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_call(fn))
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(_call(fn))).result()


async def _call(fn: Callable[[], Awaitable[T]]) -> T:
    return await fn()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "liveloop.db"

    async def build() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await migrate.upgrade(engine)
        await engine.dispose()

    run_async(build)
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped afterwards."""
    base = backend_url(PG_ENV)
    name = f"liveloop_test_{uuid.uuid4().hex[:12]}"
    admin = make_url(base)
    url = admin.set(database=name).render_as_string(hide_password=False)

    async def admin_exec(sql: str) -> None:
        engine = create_engine(admin.render_as_string(hide_password=False))
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(sql))
        await engine.dispose()

    async def migrate_it() -> None:
        engine = create_engine(url)
        await migrate.upgrade(engine)
        await engine.dispose()

    run_async(lambda: admin_exec(f'CREATE DATABASE "{name}"'))
    run_async(migrate_it)
    yield url
    run_async(lambda: admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _truncate_all(url: str) -> None:
    async def run() -> None:
        engine = create_engine(url)
        tables = ", ".join(f'"{t.name}"' for t in migrate.target_metadata().sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        await engine.dispose()

    run_async(run)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Settings:
    """Settings for one test's app: SQLite (always) and PostgreSQL (when configured)."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        _truncate_all(url)
        return Settings(data_dir=tmp_path, database_url=url, auto_migrate=False)
    shutil.copy(sqlite_template, tmp_path / "liveloop.db")
    return Settings(data_dir=tmp_path, auto_migrate=False)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def run_in_app(client: TestClient, fn: Callable[[Container], Awaitable[T]]) -> T:
    """Run a coroutine on the app's own event loop with its container."""
    container: Container = client.app.state.container  # type: ignore[attr-defined]
    assert client.portal is not None

    async def call() -> T:
        return await fn(container)

    return client.portal.call(call)


@dataclass(frozen=True)
class ShopKeys:
    """A shop with one API key per role."""

    shop_id: int
    keys: dict[Role, str]

    def headers(self, role: Role = Role.OWNER) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


def make_shop(client: TestClient, name: str) -> ShopKeys:
    created = run_in_app(client, lambda c: do_create_shop(c.db, name=name))
    keys = {Role.OWNER: created.api_key}
    owner = {"Authorization": f"Bearer {created.api_key}"}
    for role in (Role.OPERATOR, Role.HOST, Role.MODERATOR):
        staff = client.post("/api/v1/staff", json={"name": role.value, "role": role.value}, headers=owner)
        assert staff.status_code == 201, staff.text
        issued = client.post(f"/api/v1/staff/{staff.json()['id']}/api-keys", json={}, headers=owner)
        assert issued.status_code == 201, issued.text
        keys[role] = issued.json()["key"]
    return ShopKeys(shop_id=created.shop.id, keys=keys)


@pytest.fixture
def shop(client: TestClient) -> ShopKeys:
    return make_shop(client, "星光美妆 Starlight Beauty")


@pytest.fixture
def other_shop(client: TestClient) -> ShopKeys:
    return make_shop(client, "Other Shop")


def created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
