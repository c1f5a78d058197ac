"""PostgreSQL connections: pinged when they sat idle, not on every checkout; a dropped pool recovers.

Server connections are dropped by ``pg_terminate_backend`` from a separate admin connection (what a
server restart or a proxy's idle timeout does to a pool).
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from liveloop.core.db import create_engine
from tests.backends import PG_ENV, backend_url

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT pg_backend_pid()")))


async def _terminate(pid: int) -> None:
    admin = create_engine(backend_url(PG_ENV))
    try:
        async with admin.connect() as conn:
            assert await conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await admin.dispose()
    await asyncio.sleep(0.2)  # the server closes the socket


async def test_a_busy_pool_does_not_ping() -> None:
    engine = create_engine(backend_url(PG_ENV))
    try:
        statements: list[str] = []

        def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            statements.append(statement)

        event.listen(engine.sync_engine, "before_cursor_execute", record)
        for _ in range(20):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        assert statements == ["SELECT 1"] * 20  # no ping round trips in between
    finally:
        await engine.dispose()


async def test_a_connection_dropped_while_idle_is_replaced_by_the_ping() -> None:
    engine = create_engine(backend_url(PG_ENV), idle_ping_seconds=0.05)
    try:
        pid = await _backend_pid(engine)
        await _terminate(pid)  # idle in the pool for > 0.05 s by now
        assert await _backend_pid(engine) != pid  # the ping failed, a fresh connection answered
    finally:
        await engine.dispose()


async def test_a_connection_dropped_while_busy_fails_once_then_the_pool_recovers() -> None:
    """The documented price of not pinging every checkout: the request that finds it fails."""
    engine = create_engine(backend_url(PG_ENV), idle_ping_seconds=3600)
    try:
        pid = await _backend_pid(engine)
        await _terminate(pid)
        with pytest.raises(DBAPIError):
            await _backend_pid(engine)
        assert await _backend_pid(engine) != pid
    finally:
        await engine.dispose()
