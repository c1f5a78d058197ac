"""The room's comment rate is a setting (``LIVELOOP_ROOM_MAX_COMMENTS_PER_SECOND``), and the hub keeps it."""

from __future__ import annotations

import gc

import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from liveloop.realtime import HubConfig, Lane, RoomHub, StreamItem
from liveloop.settings import Settings
from liveloop.web.app import YOUNG_GC_THRESHOLD, create_app
from liveloop.web.realtime import node_config
from tests.realtime.fakes import FakeClock, FakePeer


def comment(offset: int) -> StreamItem:
    return StreamItem(offset=offset, lane=Lane.COMMENT, data={"kind": "comment", "n": offset})


@pytest.mark.parametrize(("rate", "per_tick"), [(50, 5), (400, 40), (1250, 125)])
def test_the_hub_keeps_the_configured_rate(rate: float, per_tick: int) -> None:
    clock = FakeClock()
    hub = RoomHub(7, epoch="e1", config=HubConfig(max_comments_per_second=rate), clock=clock)
    peer = FakePeer("a")
    hub.attach(peer)
    offset = 0
    for _ in range(5):
        clock.advance(0.1)
        for _ in range(200):
            offset += 1
            hub.publish(comment(offset))
        stats = hub.flush()
        assert stats.items == per_tick
        assert stats.dropped_comments == 200 - per_tick
        assert len(peer.last()["items"]) == per_tick
    assert hub.dropped_comments == 5 * (200 - per_tick)


def test_the_setting_is_read_from_the_environment_and_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIVELOOP_ROOM_MAX_COMMENTS_PER_SECOND", raising=False)
    assert Settings().room_max_comments_per_second == 50
    monkeypatch.setenv("LIVELOOP_ROOM_MAX_COMMENTS_PER_SECOND", "400")
    settings = Settings()
    assert settings.room_max_comments_per_second == 400
    assert node_config(settings).hub.max_comments_per_second == 400
    assert node_config(settings).hub.tick_seconds == HubConfig().tick_seconds
    for bad in ("0", "-1", "abc"):
        monkeypatch.setenv("LIVELOOP_ROOM_MAX_COMMENTS_PER_SECOND", bad)
        with pytest.raises(ValidationError):
            Settings()


def test_the_app_builds_its_rooms_at_the_configured_rate(settings: Settings) -> None:
    configured = settings.model_copy(update={"room_max_comments_per_second": 320.0})
    with TestClient(create_app(configured)) as client:
        node = client.app.state.realtime.node  # type: ignore[attr-defined]
        assert node.config.hub.max_comments_per_second == 320.0


def test_the_serving_app_collects_young_garbage_less_often(settings: Settings) -> None:
    before = gc.get_threshold()
    with TestClient(create_app(settings)):
        assert gc.get_threshold() == (YOUNG_GC_THRESHOLD, *before[1:])
    assert gc.get_threshold() == before
