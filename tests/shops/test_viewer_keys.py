"""The viewer-key cache: a token check without SQL, new keys at once, rotated-out keys within the TTL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import jwt
import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from liveloop.core.container import Container
from liveloop.core.db import Database
from liveloop.shops import InvalidViewerToken, Viewer, credentials, get_viewer
from liveloop.shops.credentials import sign_viewer_token
from liveloop.shops.viewer_keys import ViewerKeyCache
from tests.conftest import ShopKeys, created, run_in_app


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


def token(client: TestClient, shop: ShopKeys, user_id: str) -> str:
    issued = client.post("/api/v1/viewer-tokens", json={"user_id": user_id}, headers=shop.headers())
    return str(created(issued)["token"])


def rotate(client: TestClient, shop: ShopKeys) -> None:
    assert client.post("/api/v1/shop/rotate-viewer-key", headers=shop.headers()).status_code == 204


def test_cached_keys_verify_without_sql(client: TestClient, shop: ShopKeys) -> None:
    tokens = [token(client, shop, f"u{i}") for i in range(5)]

    async def run(container: Container) -> None:
        cache = ViewerKeyCache(container.db)
        await get_viewer(container.db, tokens[0], keys=cache)  # the one read
        with counted(container.db) as statements:
            viewers = [await get_viewer(container.db, t, keys=cache) for t in tokens]
        assert statements == []
        assert [v.user_id for v in viewers] == [f"u{i}" for i in range(5)]

    run_in_app(client, run)


def test_rotation_new_key_at_once_retired_key_within_the_ttl(client: TestClient, shop: ShopKeys) -> None:
    old = token(client, shop, "old")
    clock = Clock()

    async def check(cache: ViewerKeyCache, raw: str) -> Viewer:
        container: Container = client.app.state.container  # type: ignore[attr-defined]
        return await get_viewer(container.db, raw, keys=cache)

    cache = run_in_app(client, lambda c: _made(ViewerKeyCache(c.db, ttl_seconds=5.0, clock=clock)))
    assert run_in_app(client, lambda _c: check(cache, old)).user_id == "old"
    rotate(client, shop)
    rotate(client, shop)  # "old" is retired: signed two keys ago
    newest = token(client, shop, "new")
    # A token with the newest key: the cache (holding the pre-rotation keys) reloads and accepts it.
    assert run_in_app(client, lambda _c: check(cache, newest)).user_id == "new"
    # The reload also dropped the retired key, before its TTL was up.
    with pytest.raises(InvalidViewerToken):
        run_in_app(client, lambda _c: check(cache, old))


def test_a_retired_key_works_only_until_the_ttl_runs_out(client: TestClient, shop: ShopKeys) -> None:
    """Where no request made the cache reload, a rotated-out key is refused once the TTL is up."""
    old = token(client, shop, "old")
    clock = Clock()
    cache = run_in_app(client, lambda c: _made(ViewerKeyCache(c.db, ttl_seconds=5.0, clock=clock)))

    async def check(raw: str) -> Viewer:
        container: Container = client.app.state.container  # type: ignore[attr-defined]
        return await get_viewer(container.db, raw, keys=cache)

    assert run_in_app(client, lambda _c: check(old)).user_id == "old"
    rotate(client, shop)
    rotate(client, shop)
    clock.now += 4.9
    assert run_in_app(client, lambda _c: check(old)).user_id == "old"  # within the TTL: cached keys
    clock.now += 0.2
    with pytest.raises(InvalidViewerToken):
        run_in_app(client, lambda _c: check(old))
    # Without a cache a retired key is refused at once.
    with pytest.raises(InvalidViewerToken):
        run_in_app(client, lambda c: get_viewer(c.db, old))


def test_a_forged_token_is_refused_after_one_fresh_read(client: TestClient, shop: ShopKeys) -> None:
    forged, _ = sign_viewer_token(
        shop_id=shop.shop_id,
        key="not-the-shop-key-but-32-bytes-long!",
        user_id="mallory",
        nickname="m",
        ttl=timedelta(hours=1),
    )
    good = token(client, shop, "good")

    async def run(container: Container) -> None:
        cache = ViewerKeyCache(container.db)
        await get_viewer(container.db, good, keys=cache)
        with counted(container.db) as statements, pytest.raises(InvalidViewerToken):
            await get_viewer(container.db, forged, keys=cache)
        assert len(statements) == 1
        unknown, _ = sign_viewer_token(
            shop_id=shop.shop_id + 999, key="x" * 32, user_id="x", nickname="x", ttl=timedelta(hours=1)
        )
        with pytest.raises(InvalidViewerToken, match="unknown shop"):
            await get_viewer(container.db, unknown, keys=cache)

    run_in_app(client, run)


def test_buyer_routes_use_the_apps_cache(client: TestClient, shop: ShopKeys) -> None:
    """Over HTTP: the second request of a buyer reads no viewer key from SQL."""
    raw = token(client, shop, "buyer")
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/buyer/orders/1", headers=headers).status_code == 404  # warms the cache
    container: Container = client.app.state.container  # type: ignore[attr-defined]
    with counted(container.db) as statements:
        assert client.get("/api/v1/buyer/orders/1", headers=headers).status_code == 404
    assert not [s for s in statements if "viewer_key" in s]


async def _made(cache: ViewerKeyCache) -> ViewerKeyCache:
    return cache


def test_a_busy_shop_refreshes_its_keys_in_the_background(client: TestClient, shop: ShopKeys) -> None:
    """Past half the TTL a request still uses the cached keys and starts one background read; the
    crowd then never waits for a read when the TTL would have run out."""
    raw = token(client, shop, "steady")
    clock = Clock()

    async def run(container: Container) -> None:
        cache = ViewerKeyCache(container.db, ttl_seconds=5.0, clock=clock)
        await get_viewer(container.db, raw, keys=cache)
        clock.now += 3.0  # past half the TTL
        with counted(container.db) as statements:
            await get_viewer(container.db, raw, keys=cache)
            assert statements == []  # answered from the cache, the read is in the background
            for _ in range(50):
                await asyncio.sleep(0.01)
                if statements:
                    break
        assert len(statements) == 1
        clock.now += 2.5  # the first entry's TTL is over; the refreshed one is still good
        with counted(container.db) as statements:
            await get_viewer(container.db, raw, keys=cache)
        assert statements == []

    run_in_app(client, run)


def test_a_verified_token_skips_the_signature_check_until_it_expires(
    client: TestClient, shop: ShopKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = token(client, shop, "again")
    other = token(client, shop, "other")
    expires = jwt.decode(raw, options={"verify_signature": False})["exp"]
    checks: list[str] = []
    real = credentials.verify_viewer_token

    def spy(raw_token: str, **kwargs: Any) -> dict[str, Any]:
        checks.append(raw_token)
        return real(raw_token, **kwargs)

    monkeypatch.setattr(credentials, "verify_viewer_token", spy)
    wall = Clock()
    wall.now = expires - 60.0

    async def run(container: Container) -> None:
        cache = ViewerKeyCache(container.db, wall_clock=wall)
        first = await get_viewer(container.db, raw, keys=cache)
        for _ in range(3):
            assert await get_viewer(container.db, raw, keys=cache) == first
        assert checks == [raw]
        assert (await get_viewer(container.db, other, keys=cache)).user_id == "other"
        assert checks == [raw, other]  # each token is checked once
        wall.now = expires  # its exp has come: the signature check (and its expiry error) again
        await get_viewer(container.db, raw, keys=cache)
        assert checks == [raw, other, raw]

    run_in_app(client, run)
