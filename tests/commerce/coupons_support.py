"""Helpers of the coupon tests: templates, rooms and shows, drops, claims, and moving time in SQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from starlette.testclient import TestClient

from liveloop.commerce.storage import CouponDropRow, CouponRow, CouponTemplateRow
from liveloop.core.container import Container
from liveloop.core.db import utcnow
from liveloop.shops import Role
from tests.commerce.conftest import bearer
from tests.conftest import ShopKeys, created, run_in_app
from tests.presence import join


def make_template(client: TestClient, shop: ShopKeys, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "直播间专享 立减5元",
        "kind": "amount_off",
        "amount_off_cents": 500,
        "valid_days": 7,
        "total_quantity": 1000,
    } | fields
    return created(client.post("/api/v1/coupon-templates", json=body, headers=shop.headers()))


def make_room(client: TestClient, shop: ShopKeys) -> int:
    room = created(client.post("/api/v1/rooms", json={"name": "直播间"}, headers=shop.headers()))
    return int(room["id"])


def start_show(client: TestClient, shop: ShopKeys, room_id: int) -> int:
    show = created(
        client.post(
            "/api/v1/shows",
            json={
                "room_id": room_id,
                "title": "双十二专场",
                "planned_start": "2026-12-12T12:00:00Z",
                "planned_end": "2026-12-12T14:00:00Z",
            },
            headers=shop.headers(),
        )
    )
    started = client.post(f"/api/v1/shows/{show['id']}/start", headers=shop.headers(Role.HOST))
    assert started.status_code == 200, started.text
    return int(show["id"])


def drop(
    client: TestClient, shop: ShopKeys, room_id: int, template_id: int, *, quantity: int = 10, **fields: Any
) -> Any:
    body = {"template_id": template_id, "quantity": quantity, "window_seconds": 60} | fields
    return client.post(f"/api/v1/rooms/{room_id}/coupon-drops", json=body, headers=shop.headers(Role.HOST))


def claim(client: TestClient, token: str, drop_id: int) -> Any:
    return client.post(f"/api/v1/coupon-drops/{drop_id}/claim", headers=bearer(token))


def my_coupons(client: TestClient, token: str, **params: Any) -> list[dict[str, Any]]:
    listed = client.get("/api/v1/buyer/coupons", params=params, headers=bearer(token))
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


def set_drop_expiry(client: TestClient, drop_id: int, at: datetime) -> None:
    async def run(container: Container) -> None:
        async with container.db.transaction() as session:
            await session.execute(
                update(CouponDropRow).where(CouponDropRow.id == drop_id).values(expires_at=at)
            )

    run_in_app(client, run)


def set_coupon_window(
    client: TestClient, coupon_id: int, *, valid_from: datetime, valid_until: datetime
) -> None:
    async def run(container: Container) -> None:
        async with container.db.transaction() as session:
            await session.execute(
                update(CouponRow)
                .where(CouponRow.id == coupon_id)
                .values(valid_from=valid_from, valid_until=valid_until)
            )

    run_in_app(client, run)


def expire_template(client: TestClient, template_id: int) -> None:
    """Move a fixed-window template's end into the past (what waiting for it would do)."""
    past = utcnow() - timedelta(seconds=1)

    async def run(container: Container) -> None:
        async with container.db.transaction() as session:
            await session.execute(
                update(CouponTemplateRow)
                .where(CouponTemplateRow.id == template_id)
                .values(valid_from=past - timedelta(days=1), valid_until=past)
            )

    run_in_app(client, run)


def coupon_for(client: TestClient, shop: ShopKeys, token: str, **template_fields: Any) -> dict[str, Any]:
    """A coupon of a new template (``template_fields``), dropped into a new room and claimed there."""
    template = make_template(client, shop, **template_fields)
    room_id = make_room(client, shop)
    dropped = created(drop(client, shop, room_id, template["id"], quantity=5))
    join(client, room_id, token)
    return created(claim(client, token, dropped["id"]))


def coupon_of(client: TestClient, token: str, coupon_id: int) -> dict[str, Any]:
    return next(c for c in my_coupons(client, token) if c["id"] == coupon_id)
