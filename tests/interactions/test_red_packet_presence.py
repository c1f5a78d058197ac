"""A red packet is for the room's audience: a grab over HTTP needs the viewer in the packet's room now,
and a refused grab changes nothing (no share, no counter). A grab over the room socket is made in the
room: the socket proves presence and no lookup is made.

Presence is what the room sockets write and the app's audience (``RoomAudience``) reads: over HTTP with
real sockets, and through the service over memory and Redis counters.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.testclient import TestClient

from liveloop.adapters.memory import MemoryCounters
from liveloop.core.container import Container
from liveloop.core.counters import Counters
from liveloop.core.errors import LiveloopError
from liveloop.interactions import InteractionsContext, ModerationCache, do_grab, do_send_red_packet
from liveloop.interactions.redpacket import grabbed_key, left_key
from liveloop.realtime.audience import RoomAudience
from liveloop.shops import Principal, Role
from tests.conftest import ShopKeys, created, run_in_app
from tests.interactions.conftest import Clock, Harness
from tests.interactions.test_red_packets import counters, shares_in_sql, viewer_token  # noqa: F401 - a fixture
from tests.presence import PRESENCE_SECONDS, arrive
from tests.realtime.conftest import joined
from tests.rooms.test_api import make_room


def packet_state(client: TestClient, shop: ShopKeys, packet_id: int) -> tuple[int, int, list[Any]]:
    read = client.get(f"/api/v1/red-packets/{packet_id}", headers=shop.headers(Role.MODERATOR)).json()
    return read["grabbed_count"], read["grabbed_cents"], read["shares"]


def test_a_viewer_on_the_room_socket_grabs_and_nobody_else_does(
    client: TestClient, shop: ShopKeys, room_id: int
) -> None:
    elsewhere: int = make_room(client, shop, "二号间")["id"]
    url = f"/api/v1/rooms/{room_id}/red-packets"
    packet = created(client.post(url, json={"total_cents": 300, "count": 3}, headers=shop.headers()))
    grab = f"/api/v1/viewer/red-packets/{packet['id']}/grab"
    alice, bob, carol = (viewer_token(client, shop, name) for name in ("alice", "bob", "carol"))
    token = {name: h["Authorization"].removeprefix("Bearer ") for name, h in (("alice", alice), ("bob", bob))}

    with (
        client.websocket_connect(f"/ws/rooms/{room_id}?token={token['alice']}") as here,
        client.websocket_connect(f"/ws/rooms/{elsewhere}?token={token['bob']}") as there,
    ):
        joined(here)
        joined(there)
        for headers in (bob, carol):  # in another room of the shop; in no room at all
            refused = client.post(grab, headers=headers)
            assert (refused.status_code, refused.json()["error"]["code"]) == (403, "rooms.not_present")
        assert packet_state(client, shop, packet["id"]) == (0, 0, [])
        got = client.post(grab, headers=alice)
        assert got.status_code == 200, got.text
        assert packet_state(client, shop, packet["id"])[0] == 1

    # Alice closed her socket: she has left the room, and the next packet is not hers.
    def present() -> bool:
        return run_in_app(
            client, lambda c: RoomAudience(c.counters).present(room_id=room_id, viewer_id="u:alice")
        )

    deadline = time.monotonic() + 5
    while present() and time.monotonic() < deadline:
        time.sleep(0.05)
    second = created(client.post(url, json={"total_cents": 300, "count": 3}, headers=shop.headers()))
    gone = client.post(f"/api/v1/viewer/red-packets/{second['id']}/grab", headers=alice)
    assert (gone.status_code, gone.json()["error"]["code"]) == (403, "rooms.not_present")
    assert packet_state(client, shop, second["id"]) == (0, 0, [])


async def _counters_of(store: Counters, packet_id: int) -> tuple[int, int]:
    return await store.get(left_key(packet_id)), await store.count_members(grabbed_key(packet_id))


def test_an_absent_viewer_takes_nothing(
    client: TestClient,
    shop: ShopKeys,
    room_id: int,
    owner: Principal,
    counters: Counters,  # noqa: F811 - the fixture: memory and Redis
) -> None:
    """Never arrived, arrived in another room, or whose heartbeat's window has passed: refused before any
    counter changes; a viewer in the room still grabs after them; a socket's grab makes no lookup."""
    container: Container = client.app.state.container  # type: ignore[attr-defined]
    ctx = InteractionsContext(db=container.db, counters=counters, cache=ModerationCache())
    presence = RoomAudience(counters)
    elsewhere: int = make_room(client, shop, "二号间")["id"]

    async def scenario(_container: Container) -> tuple[int, list[str], list[tuple[int, int]]]:
        packet_id = (await do_send_red_packet(ctx, owner, room_id, total_cents=500, count=5)).packet.id

        async def one(viewer: str, *, socket: bool = False) -> str:
            try:
                await do_grab(
                    ctx,
                    shop_id=shop.shop_id,
                    room_id=room_id if socket else None,
                    packet_id=packet_id,
                    viewer_id=viewer,
                    nickname=viewer,
                    presence=None if socket else presence,
                )
            except LiveloopError as exc:
                return exc.code
            return "ok"

        await arrive(counters, room_id, "u:a")
        outcomes = [await one("u:a")]
        states = [await _counters_of(counters, packet_id)]
        await arrive(counters, elsewhere, "u:c")
        await arrive(counters, room_id, "u:d", ttl_seconds=0.2)  # its window is 0.2 s
        await asyncio.sleep(0.4)
        outcomes += [await one(v) for v in ("u:b", "u:c", "u:d")]
        states.append(await _counters_of(counters, packet_id))
        await arrive(counters, room_id, "u:d")  # heartbeats again
        outcomes.append(await one("u:d"))
        outcomes.append(await one("u:e", socket=True))  # never in the presence set: the socket is proof
        states.append(await _counters_of(counters, packet_id))
        return packet_id, outcomes, states

    packet_id, outcomes, (after_first, after_refusals, after_last) = run_in_app(client, scenario)
    assert outcomes == ["ok", *["rooms.not_present"] * 3, "ok", "ok"]
    assert after_first == after_refusals == (4, 1)
    assert after_last == (2, 3)
    holders = sorted(r.viewer_id for r in shares_in_sql(client, packet_id) if r.viewer_id is not None)
    assert holders == ["u:a", "u:d", "u:e"]


def test_a_heartbeat_counts_for_the_presence_window_and_no_longer(
    harness: Harness, shop: ShopKeys, room_id: int, owner: Principal
) -> None:
    """On a clock that only moves when told: present 59 s after a heartbeat, absent 61 s after it."""
    ctx = harness.context()
    memory: MemoryCounters = harness.counters  # on the harness's fake clock
    clock: Clock = harness.clock
    presence = RoomAudience(memory)
    packet_id = harness.run(
        lambda: do_send_red_packet(ctx, owner, room_id, total_cents=500, count=5)
    ).packet.id

    async def grab(viewer: str) -> str:
        try:
            await do_grab(
                ctx,
                shop_id=shop.shop_id,
                room_id=None,
                packet_id=packet_id,
                viewer_id=viewer,
                nickname=viewer,
                presence=presence,
            )
        except LiveloopError as exc:
            return exc.code
        return "ok"

    harness.run(lambda: arrive(memory, room_id, "u:a", "u:b"))
    clock.advance(PRESENCE_SECONDS - 1)
    assert harness.run(lambda: grab("u:a")) == "ok"
    clock.advance(2)
    assert harness.run(lambda: grab("u:b")) == "rooms.not_present"
    assert [r.viewer_id for r in shares_in_sql(harness.client, packet_id) if r.viewer_id] == ["u:a"]


def test_without_a_presence_source_nobody_grabs_over_http(
    harness: Harness, shop: ShopKeys, room_id: int, owner: Principal
) -> None:
    """A server that cannot see the room refuses grabs from outside a socket (it never guesses yes)."""
    ctx = harness.context()
    packet_id = harness.run(
        lambda: do_send_red_packet(ctx, owner, room_id, total_cents=500, count=5)
    ).packet.id
    harness.run(lambda: arrive(harness.counters, room_id, "u:a"))
    with_no_source = harness.run(
        lambda: _refusal(
            do_grab(
                ctx, shop_id=shop.shop_id, room_id=None, packet_id=packet_id, viewer_id="u:a", nickname="a"
            )
        )
    )
    assert with_no_source == "rooms.not_present"
    assert harness.run(lambda: harness.counters.get(left_key(packet_id))) == 5  # no share was taken


async def _refusal(call: Any) -> str:
    try:
        await call
    except LiveloopError as exc:
        return exc.code
    return "ok"
