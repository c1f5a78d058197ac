"""Claims that really run at once: the first N claimers win, nobody passes the per-user limit, the
template's total holds, and the SQL truth agrees with itself.

Through the service on the app's loop (over memory and Redis counters) and through HTTP (an async
client on the in-process app), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from liveloop.commerce.coupon_cache import DropKeys
from liveloop.commerce.coupon_claims import do_claim_coupon
from liveloop.commerce.storage import CouponDropRow, CouponRow, CouponTemplateRow
from liveloop.core.container import Container
from liveloop.core.errors import LiveloopError
from liveloop.realtime.audience import RoomAudience
from liveloop.shops.credentials import sign_viewer_token
from tests.commerce.coupons_support import drop, make_room, make_template
from tests.commerce.test_concurrency import COUNTERS, buyer, commerce_on, viewer_key
from tests.conftest import ShopKeys, created, run_in_app
from tests.presence import arrive


@dataclass(frozen=True)
class Truth:
    issued: int  # the template's quantity_issued
    claimed: dict[int, int]  # drop id -> its claimed counter
    per_drop: Counter[int]  # drop id -> coupons rows
    per_owner: Counter[str]  # owner -> coupons rows (all drops)
    per_owner_drop: Counter[tuple[str, int]]


async def truth(container: Container, template_id: int) -> Truth:
    async with container.db.read() as session:
        template = await session.get_one(CouponTemplateRow, template_id)
        drops = await session.execute(
            select(CouponDropRow.id, CouponDropRow.claimed).where(CouponDropRow.template_id == template_id)
        )
        rows = (
            await session.execute(
                select(CouponRow.owner_id, CouponRow.drop_id, func.count())
                .where(CouponRow.template_id == template_id)
                .group_by(CouponRow.owner_id, CouponRow.drop_id)
            )
        ).all()
    per_owner_drop: Counter[tuple[str, int]] = Counter({(o, d or 0): int(n) for o, d, n in rows})
    per_drop: Counter[int] = Counter()
    per_owner: Counter[str] = Counter()
    for (owner, drop_id), n in per_owner_drop.items():
        per_drop[drop_id] += n
        per_owner[owner] += n
    return Truth(
        issued=template.quantity_issued,
        claimed={int(d): int(c) for d, c in drops},
        per_drop=per_drop,
        per_owner=per_owner,
        per_owner_drop=per_owner_drop,
    )


def claim_all(
    client: TestClient,
    counters: str,
    shop_id: int,
    claims: list[tuple[int, int]],
    *,
    room_id: int,
    absent: frozenset[int] = frozenset(),
) -> Counter[str]:
    """Run every (buyer number, drop id) claim at once through the service; count the outcomes. Every
    buyer but those ``absent`` is in the room first; presence is read as the app reads it."""

    async def run(container: Container) -> Counter[str]:
        async with commerce_on(container, counters) as ctx:
            presence = RoomAudience(ctx.counters)
            here = sorted({n for n, _ in claims} - absent)
            await arrive(ctx.counters, room_id, *(buyer(shop_id, n).viewer_id for n in here))

            async def one(n: int, drop_id: int) -> str:
                try:
                    await do_claim_coupon(ctx, buyer(shop_id, n), drop_id, presence=presence)
                except LiveloopError as exc:
                    return exc.code
                return "ok"

            return Counter(await asyncio.gather(*(one(n, d) for n, d in claims)))

    return run_in_app(client, run)


@pytest.mark.parametrize("counters", COUNTERS)
def test_300_claims_for_50_coupons(client: TestClient, shop: ShopKeys, counters: str) -> None:
    """250 viewers (50 of them tapping twice) claim a drop of 50 all at once: exactly 50 win, one each."""
    template = make_template(client, shop, per_user_limit=1, total_quantity=1000)
    room_id = make_room(client, shop)
    dropped = created(drop(client, shop, room_id, template["id"], quantity=50))
    claims = [(n, dropped["id"]) for n in range(250)] + [(n, dropped["id"]) for n in range(0, 250, 5)]
    random.Random(7).shuffle(claims)
    outcomes = claim_all(client, counters, shop.shop_id, claims, room_id=room_id)
    assert outcomes["ok"] == 50
    assert set(outcomes) <= {"ok", "coupon.sold_out", "coupon.limit_reached"}
    facts = run_in_app(client, lambda c: truth(c, template["id"]))
    assert facts.issued == facts.claimed[dropped["id"]] == facts.per_drop[dropped["id"]] == 50
    assert len(facts.per_owner) == 50
    assert max(facts.per_owner.values()) == 1
    after = client.get(f"/api/v1/coupon-drops/{dropped['id']}", headers=shop.headers()).json()
    assert (after["claimed"], after["remaining"], after["state"]) == (50, 0, "closed")


@pytest.mark.parametrize("counters", COUNTERS)
def test_two_drops_at_once_keep_the_template_total_and_the_per_user_limit(
    client: TestClient, shop: ShopKeys, counters: str
) -> None:
    """100 viewers claim two drops of 50 at once (and some tap a drop twice); the template has 80 coupons
    and a limit of 2 per viewer: 80 are issued, nobody holds more than 2, nor 2 of one drop."""
    template = make_template(client, shop, per_user_limit=2, total_quantity=80)
    room_id = make_room(client, shop)
    drops = [created(drop(client, shop, room_id, template["id"], quantity=50))["id"] for _ in range(2)]
    claims = [(n, d) for n in range(100) for d in drops]
    random.Random(11).shuffle(claims)
    outcomes = claim_all(client, counters, shop.shop_id, claims, room_id=room_id)
    assert outcomes["ok"] == 80
    assert set(outcomes) <= {"ok", "coupon.sold_out", "coupon.limit_reached"}
    facts = run_in_app(client, lambda c: truth(c, template["id"]))
    assert facts.issued == sum(facts.per_drop.values()) == 80
    assert all(facts.claimed[d] == facts.per_drop[d] <= 50 for d in drops)
    assert max(facts.per_owner.values()) <= 2
    assert max(facts.per_owner_drop.values()) == 1
    # Second taps, now that everything is gone: refused, and nothing changes.
    again = claim_all(
        client,
        counters,
        shop.shop_id,
        [(n, d) for n in range(0, 100, 10) for d in drops] * 2,
        room_id=room_id,
    )
    assert again["ok"] == 0
    assert run_in_app(client, lambda c: truth(c, template["id"])) == facts


def test_300_claims_over_http(client: TestClient, shop: ShopKeys) -> None:
    """The crowd through the real ASGI app and the HTTP stack, concurrently on its loop."""
    template = make_template(client, shop, per_user_limit=1, total_quantity=1000)
    room_id = make_room(client, shop)
    dropped = created(drop(client, shop, room_id, template["id"], quantity=50))
    key = run_in_app(client, lambda c: viewer_key(c, shop.shop_id))
    tokens = [
        sign_viewer_token(
            shop_id=shop.shop_id, key=key, user_id=f"h{n}", nickname="h", ttl=timedelta(hours=1)
        )[0]
        for n in range(300)
    ]
    run_in_app(client, lambda c: arrive(c.counters, room_id, *(f"u:h{n}" for n in range(300))))

    async def run(_container: Container) -> list[tuple[int, dict[str, Any]]]:
        transport = httpx2.ASGITransport(app=client.app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://shop.test") as http:

            async def one(token: str) -> tuple[int, dict[str, Any]]:
                response = await http.post(
                    f"/api/v1/coupon-drops/{dropped['id']}/claim",
                    headers={"Authorization": f"Bearer {token}"},
                )
                return response.status_code, response.json()

            return await asyncio.gather(*(one(t) for t in tokens))

    responses = run_in_app(client, run)
    assert Counter(status for status, _ in responses) == {201: 50, 409: 250}
    assert {body["error"]["code"] for status, body in responses if status == 409} == {"coupon.sold_out"}
    facts = run_in_app(client, lambda c: truth(c, template["id"]))
    assert facts.issued == facts.per_drop[dropped["id"]] == 50
    assert len(facts.per_owner) == 50


@pytest.mark.parametrize("counters", COUNTERS)
def test_the_truth_refuses_what_stale_counters_allow(
    client: TestClient, shop: ShopKeys, counters: str
) -> None:
    """Counters that forgot who claimed and how many are left (a flush, a bad rebuild) cost refused
    SQL writes, never a coupon too many; a refusal makes the next claim reload them."""
    template = make_template(client, shop, per_user_limit=1, total_quantity=3)
    room_id = make_room(client, shop)
    first, second = (created(drop(client, shop, room_id, template["id"], quantity=2))["id"] for _ in range(2))
    keys = DropKeys(template["id"], second, 1)

    async def run(container: Container) -> list[str]:
        async with commerce_on(container, counters) as ctx:
            presence = RoomAudience(ctx.counters)
            await arrive(ctx.counters, room_id, *(buyer(shop.shop_id, n).viewer_id for n in range(5)))

            async def one(n: int, drop_id: int) -> str:
                try:
                    await do_claim_coupon(ctx, buyer(shop.shop_id, n), drop_id, presence=presence)
                except LiveloopError as exc:
                    return exc.code
                return "ok"

            outcomes = [await one(0, first)]
            await ctx.counters.load_stock(keys.stock_key, keys.taken_key, stock=10, taken={}, replace=True)
            outcomes += [await one(n, second) for n in (0, 1, 2, 3)]
            outcomes.append(await one(4, second))
            assert await ctx.counters.get(keys.stock_key) == 0  # reloaded from the truth
            return outcomes

    assert run_in_app(client, run) == [
        "ok",
        "coupon.limit_reached",  # buyer 0 already holds the template's one per user
        "ok",
        "ok",  # the template's 3rd and last coupon
        "coupon.sold_out",  # refused by SQL: the counters still said 7 left
        "coupon.sold_out",  # refused by the reloaded counters
    ]
    facts = run_in_app(client, lambda c: truth(c, template["id"]))
    assert facts.issued == sum(facts.per_drop.values()) == 3
    assert facts.claimed == {first: 1, second: 2}
