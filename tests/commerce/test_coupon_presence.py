"""A coupon drop is for the room's audience: only a viewer in the drop's room now claims, and a refused
claim changes nothing (no coupon, no counter, no unit of the drop).

Presence is what the room sockets write and the app's audience (``RoomAudience``) reads: over HTTP with
real sockets, and through the service over memory and Redis counters.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from starlette.testclient import TestClient

from liveloop.adapters.memory import MemoryCounters
from liveloop.commerce.coupon_cache import DropKeys
from liveloop.commerce.coupon_claims import do_claim_coupon
from liveloop.core.container import Container
from liveloop.core.counters import Counters
from liveloop.core.errors import LiveloopError
from liveloop.realtime.audience import RoomAudience
from liveloop.shops import Role
from tests.commerce.conftest import commerce_over, error_code, viewer_token
from tests.commerce.coupons_support import claim, drop, make_room, make_template, my_coupons
from tests.commerce.test_concurrency import COUNTERS, buyer, commerce_on
from tests.commerce.test_coupon_concurrency import Truth, truth
from tests.conftest import ShopKeys, created, run_in_app
from tests.presence import PRESENCE_SECONDS, arrive
from tests.realtime.conftest import joined


def drop_state(client: TestClient, shop: ShopKeys, drop_id: int) -> tuple[int, int]:
    read = client.get(f"/api/v1/coupon-drops/{drop_id}", headers=shop.headers(Role.MODERATOR)).json()
    return read["claimed"], read["remaining"]


def present(client: TestClient, room_id: int, viewer_id: str) -> bool:
    return run_in_app(
        client, lambda c: RoomAudience(c.counters).present(room_id=room_id, viewer_id=viewer_id)
    )


def test_a_viewer_on_the_room_socket_claims_and_nobody_else_does(client: TestClient, shop: ShopKeys) -> None:
    template = make_template(client, shop, total_quantity=10)
    room_id, elsewhere = make_room(client, shop), make_room(client, shop)
    first = created(drop(client, shop, room_id, template["id"], quantity=3))
    alice, bob, carol = (viewer_token(client, shop, name) for name in ("alice", "bob", "carol"))

    with (
        client.websocket_connect(f"/ws/rooms/{room_id}?token={alice}") as here,
        client.websocket_connect(f"/ws/rooms/{elsewhere}?token={bob}") as there,
    ):
        joined(here)
        joined(there)
        for token in (bob, carol):  # in another room of the shop; in no room at all
            refused = claim(client, token, first["id"])
            assert (refused.status_code, error_code(refused)) == (403, "rooms.not_present"), refused.text
            assert my_coupons(client, token) == []
        assert drop_state(client, shop, first["id"]) == (0, 3)
        coupon = created(claim(client, alice, first["id"]))
        assert coupon["drop_id"] == first["id"]
        assert drop_state(client, shop, first["id"]) == (1, 2)

    # Alice closed her socket: she has left the room, and the next drop is not hers.
    deadline = time.monotonic() + 5
    while present(client, room_id, "u:alice") and time.monotonic() < deadline:
        time.sleep(0.05)
    second = created(drop(client, shop, room_id, template["id"], quantity=3))
    gone = claim(client, alice, second["id"])
    assert (gone.status_code, error_code(gone)) == (403, "rooms.not_present")
    assert drop_state(client, shop, second["id"]) == (0, 3)
    read = client.get(f"/api/v1/coupon-templates/{template['id']}", headers=shop.headers()).json()
    assert read["quantity_issued"] == 1


async def _counters_of(counters: Counters, keys: DropKeys) -> tuple[int, dict[str, int]]:
    return await counters.get(keys.stock_key), await counters.hget_all(keys.taken_key)


@pytest.mark.parametrize("counters", COUNTERS)
def test_an_absent_viewer_takes_nothing(client: TestClient, shop: ShopKeys, counters: str) -> None:
    """Never arrived, arrived in another room, or whose heartbeat's window has passed: refused before any
    counter changes, so the drop keeps its units; a viewer in the room still gets one after them."""
    template = make_template(client, shop, per_user_limit=1, total_quantity=10)
    room_id, elsewhere = make_room(client, shop), make_room(client, shop)
    dropped = created(drop(client, shop, room_id, template["id"], quantity=3))
    keys = DropKeys(template["id"], dropped["id"], 1)

    async def run(container: Container) -> tuple[list[str], list[tuple[Truth, tuple[int, dict[str, int]]]]]:
        async with commerce_on(container, counters) as ctx:
            presence = RoomAudience(ctx.counters)

            async def one(n: int) -> str:
                try:
                    await do_claim_coupon(ctx, buyer(shop.shop_id, n), dropped["id"], presence=presence)
                except LiveloopError as exc:
                    return exc.code
                return "ok"

            def viewer(n: int) -> str:
                return buyer(shop.shop_id, n).viewer_id

            await arrive(ctx.counters, room_id, viewer(0))
            outcomes = [await one(0)]  # loads the drop's counters: "untouched" is then a real claim
            states = [(await truth(container, template["id"]), await _counters_of(ctx.counters, keys))]
            await arrive(ctx.counters, elsewhere, viewer(2))
            await arrive(ctx.counters, room_id, viewer(3), ttl_seconds=0.2)  # its window is 0.2 s
            await asyncio.sleep(0.4)
            outcomes += [await one(n) for n in (1, 2, 3)]
            states.append((await truth(container, template["id"]), await _counters_of(ctx.counters, keys)))
            await arrive(ctx.counters, room_id, viewer(3))  # heartbeats again
            outcomes.append(await one(3))
            states.append((await truth(container, template["id"]), await _counters_of(ctx.counters, keys)))
            return outcomes, states

    outcomes, (after_first, after_refusals, after_last) = run_in_app(client, run)
    assert outcomes == ["ok", "rooms.not_present", "rooms.not_present", "rooms.not_present", "ok"]
    assert after_refusals == after_first  # SQL (drop, template, coupons) and counters alike
    assert after_first[0].claimed == {dropped["id"]: 1}
    assert after_first[1] == (2, {"u:b0": 1})
    assert after_last[0].claimed == {dropped["id"]: 2}
    assert after_last[1] == (1, {"u:b0": 1, "u:b3": 1})


def test_a_heartbeat_counts_for_the_presence_window_and_no_longer(client: TestClient, shop: ShopKeys) -> None:
    """On a clock that only moves when told: present 59 s after a heartbeat, absent 61 s after it."""
    template = make_template(client, shop, per_user_limit=1, total_quantity=10)
    room_id = make_room(client, shop)
    dropped = created(drop(client, shop, room_id, template["id"], quantity=3))
    now = [1000.0]

    async def run(container: Container) -> list[str]:
        counters = MemoryCounters(namespace="presence-window", clock=lambda: now[0])
        ctx = commerce_over(container, counters)
        presence = RoomAudience(counters)
        await arrive(counters, room_id, "u:b1", "u:b2")
        outcomes = []
        for n, later in ((1, PRESENCE_SECONDS - 1), (2, 2)):  # at +59 s, then at +61 s
            now[0] += later
            try:
                await do_claim_coupon(ctx, buyer(shop.shop_id, n), dropped["id"], presence=presence)
                outcomes.append("ok")
            except LiveloopError as exc:
                outcomes.append(exc.code)
        return outcomes

    assert run_in_app(client, run) == ["ok", "rooms.not_present"]
    assert drop_state(client, shop, dropped["id"]) == (1, 2)
