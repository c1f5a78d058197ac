"""A crowd opening room sockets shares one read of the room's facts, and nothing stale is kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from liveloop.core.db import Database
from liveloop.realtime.admission import RoomFacts, RoomFactsReader
from tests.conftest import created
from tests.realtime.conftest import LiveRoom, joined


class CountingDb:
    """The app's database, counting the read sessions opened through it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.reads = 0

    def read(self) -> Any:
        self.reads += 1
        return self.db.read()


@pytest.fixture
def counting_db(live_room: LiveRoom) -> CountingDb:
    return CountingDb(live_room.client.app.state.container.db)  # type: ignore[attr-defined]


def _reader(db: CountingDb) -> RoomFactsReader:
    return RoomFactsReader(cast(Database, db))


def _read_at_once(live_room: LiveRoom, reader: RoomFactsReader, room_id: int, n: int) -> list[RoomFacts]:
    async def crowd() -> list[RoomFacts]:
        return list(await asyncio.gather(*(reader.read(room_id) for _ in range(n))))

    portal = live_room.client.portal
    assert portal is not None
    return portal.call(crowd)


def _start_show(live_room: LiveRoom) -> int:
    now = datetime.now(UTC)
    body = {
        "room_id": live_room.room_id,
        "title": "晚八点",
        "planned_start": now.isoformat(),
        "planned_end": (now + timedelta(hours=1)).isoformat(),
    }
    headers = live_room.shop.headers()
    show = created(live_room.client.post("/api/v1/shows", json=body, headers=headers))
    started = live_room.client.post(f"/api/v1/shows/{show['id']}/start", headers=headers)
    assert started.status_code == 200, started.text
    return int(show["id"])


def test_a_crowd_of_joins_shares_one_read(live_room: LiveRoom, counting_db: CountingDb) -> None:
    show_id = _start_show(live_room)
    reader = _reader(counting_db)
    facts = _read_at_once(live_room, reader, live_room.room_id, 200)
    assert {f.shop_id for f in facts} == {live_room.shop.shop_id}
    assert {f.show_id for f in facts} == {show_id}
    assert counting_db.reads == 1  # one read session for all 200
    _read_at_once(live_room, reader, live_room.room_id, 50)
    assert counting_db.reads == 2  # the next crowd reads again: nothing was kept


def test_a_show_started_after_a_read_is_seen_at_once(live_room: LiveRoom, counting_db: CountingDb) -> None:
    reader = _reader(counting_db)
    (before,) = _read_at_once(live_room, reader, live_room.room_id, 1)
    assert (before.shop_id, before.show_id) == (live_room.shop.shop_id, None)
    show_id = _start_show(live_room)
    (after,) = _read_at_once(live_room, reader, live_room.room_id, 1)
    assert after.show_id == show_id
    (missing,) = _read_at_once(live_room, reader, 10**9, 1)
    assert missing.shop_id is None


def test_sockets_opened_together_all_join_the_live_show(live_room: LiveRoom) -> None:
    show_id = _start_show(live_room)
    tokens = [live_room.token(f"fan-{i}") for i in range(3)]
    with (
        live_room.connect(token=tokens[0]) as a,
        live_room.connect(token=tokens[1]) as b,
        live_room.connect(token=tokens[2]) as c,
    ):
        for ws in (a, b, c):
            hello, _snapshot = joined(ws)
            assert hello["show_id"] == show_id
