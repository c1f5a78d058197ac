"""AlertEngine on a real SQL store with fake snapshots: store, emit, dedup, digests (one a minute), leases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from liveloop.adapters.memory import MemoryCounters
from liveloop.analytics.alert_engine import AlertEngine
from liveloop.analytics.alert_model import CtrBaseline, Rule, Thresholds
from liveloop.analytics.alert_settings import do_put_alert_settings
from liveloop.core.counters import Counters
from liveloop.core.db import Database
from liveloop.core.events import Event, EventBus
from liveloop.core.notify import NotifyKind
from liveloop.rooms import service as rooms
from liveloop.rooms.model import ShowAction
from liveloop.shops.notify_targets import do_create_notify_target
from tests.analytics.alert_snapshots import START, Show
from tests.analytics.conftest import FakeClock, FakeMetrics, LiveShop, RecordingNotifier, make_live_shop

pytestmark = pytest.mark.anyio


class Events:
    def __init__(self) -> None:
        self.bus = EventBus()
        self.got: list[Event] = []

        async def consume(batch: Sequence[Event]) -> None:
            self.got.extend(batch)

        self.bus.subscribe(consume)


@pytest.fixture
async def events() -> AsyncIterator[Events]:
    e = Events()
    await e.bus.start()
    yield e
    await e.bus.close()


async def add_target(db: Database, shop: LiveShop) -> None:
    await do_create_notify_target(
        db,
        shop.principal,
        kind=NotifyKind.WEBHOOK,
        url="https://hooks.example.com/x",
        secret=None,
        enabled=True,
    )


async def second_show(db: Database, shop: LiveShop) -> int:
    room = await rooms.do_create_room(db, shop.principal, name="second", description="")
    show = await rooms.do_create_show(
        db,
        shop.principal,
        room_id=room.id,
        title="第二场",
        planned_start=START,
        planned_end=START + timedelta(hours=1),
    )
    await rooms.do_transition_show(db, shop.principal, show.id, ShowAction.START)
    return show.id


def dropping(show_id: int, ccu: int) -> Show:
    """Minute 0 had 1000 viewers; now (minute 5) ``ccu``: under 700 is a traffic drop."""
    return Show(show_id=show_id, ccu=ccu, minute_ccu=[1000, 950, 900, 800, 750])


def engine_for(
    db: Database,
    counters: Counters,
    metrics: FakeMetrics,
    notifier: RecordingNotifier,
    events: Events,
    **kwargs: object,
) -> AlertEngine:
    return AlertEngine(
        db=db,
        counters=counters,
        events=events.bus,
        metrics=metrics,
        notifier=notifier,
        **kwargs,  # type: ignore[arg-type]
    )


def at(seconds: float) -> datetime:
    return START + timedelta(minutes=5, seconds=20 + seconds)


async def test_a_fired_alert_is_stored_emitted_and_sent_at_once(
    db: Database, fake_clock: FakeClock, events: Events
) -> None:
    shop = await make_live_shop(db, "星光")
    await add_target(db, shop)
    metrics, notifier = FakeMetrics(), RecordingNotifier()
    metrics.snapshots[shop.show_id] = dropping(shop.show_id, 600).snapshot(at(0))
    engine = engine_for(db, MemoryCounters(clock=fake_clock), metrics, notifier, events)

    fired = await engine.tick()
    assert [a["rule"] for a in fired] == ["traffic_drop"]
    alert = fired[0]
    assert (alert["shop_id"], alert["room_id"], alert["show_id"]) == (
        shop.shop_id,
        shop.room_id,
        shop.show_id,
    )
    assert alert["show_title"] == "星光 show"
    assert alert["severity"] == "critical"
    assert alert["figures"]["ccu"] == 600
    assert alert["figures"]["ccu_threshold"] == 700.0
    assert alert["at"] == at(0).isoformat()
    assert await engine.recent(shop.shop_id, shop.show_id) == fired

    await engine.outbox.drain()
    [(target, message)] = notifier.sent
    assert target.url == "https://hooks.example.com/x"
    assert message.data["type"] == "liveloop.alerts.digest"
    assert [a["id"] for a in message.data["alerts"]] == [alert["id"]]
    assert "在线人数下滑" in message.markdown
    assert "星光 show" in message.markdown

    await events.bus.close()
    [event] = [e for e in events.got if e.type == "alert.fired"]
    assert (event.shop_id, event.room_id, event.show_id, event.actor) == (
        shop.shop_id,
        shop.room_id,
        shop.show_id,
        None,
    )
    assert event.data["alert_id"] == alert["id"]
    assert event.data["rule"] == "traffic_drop"
    assert event.data["figures"] == alert["figures"]
    assert event.at == at(0)
    await engine.close()


async def test_digest_batches_the_minutes_alerts_and_goes_out_at_most_once_a_minute(
    db: Database, fake_clock: FakeClock, events: Events
) -> None:
    shop = await make_live_shop(db, "店")
    other_show = await second_show(db, shop)
    await add_target(db, shop)
    metrics, notifier = FakeMetrics(), RecordingNotifier()
    a, b = dropping(shop.show_id, 600), dropping(other_show, 1000)
    engine = engine_for(db, MemoryCounters(clock=fake_clock), metrics, notifier, events)

    async def tick(seconds: float) -> list[str]:
        fake_clock.now = 10_000.0 + seconds
        metrics.snapshots = {shop.show_id: a.snapshot(at(seconds)), other_show: b.snapshot(at(seconds))}
        fired = await engine.tick()
        await engine.outbox.drain()
        return [f"{x['show_id']}:{x['rule']}" for x in fired]

    assert await tick(0) == [f"{shop.show_id}:traffic_drop"]  # the first alert goes out at once
    assert len(notifier.sent) == 1
    assert await tick(10) == []  # still dropping: no refire
    b.ccu = 500
    assert await tick(20) == [f"{other_show}:traffic_drop"]  # waits for the minute
    a.ccu = 900
    assert await tick(30) == []  # A recovered: re-armed
    a.ccu = 650
    assert await tick(40) == [f"{shop.show_id}:traffic_drop"]  # A dropped again: a new alert
    assert await tick(59.9) == []
    assert len(notifier.sent) == 1  # the second digest waits for the end of the minute
    assert await tick(60.1) == []
    assert len(notifier.sent) == 2
    digest = notifier.sent[1][1]
    assert [(x["show_id"], x["rule"]) for x in digest.data["alerts"]] == [
        (other_show, "traffic_drop"),
        (shop.show_id, "traffic_drop"),
    ]
    assert "2 条" in digest.markdown
    assert "第二场" in digest.markdown
    assert await tick(200) == []
    assert len(notifier.sent) == 2
    stored = await engine.recent(shop.shop_id, shop.show_id)
    assert len(stored) == 2
    assert stored[0]["at"] > stored[1]["at"]
    await engine.close()


async def test_without_targets_alerts_are_kept_but_not_sent(
    db: Database, fake_clock: FakeClock, events: Events
) -> None:
    shop = await make_live_shop(db, "无群")
    metrics, notifier = FakeMetrics(), RecordingNotifier()
    metrics.snapshots[shop.show_id] = dropping(shop.show_id, 100).snapshot(at(0))
    engine = engine_for(db, MemoryCounters(clock=fake_clock), metrics, notifier, events)
    assert len(await engine.tick()) == 1
    await engine.outbox.drain()
    assert notifier.sent == []
    assert len(await engine.recent(shop.shop_id, shop.show_id)) == 1
    await engine.close()


async def test_room_settings_turn_rules_off_and_change_thresholds(
    db: Database, fake_clock: FakeClock, events: Events
) -> None:
    shop = await make_live_shop(db, "设置")
    metrics, notifier = FakeMetrics(), RecordingNotifier()
    metrics.snapshots[shop.show_id] = dropping(shop.show_id, 650).snapshot(at(0))
    engine = engine_for(db, MemoryCounters(clock=fake_clock), metrics, notifier, events)
    await do_put_alert_settings(
        db, shop.principal, shop.room_id, Thresholds(enabled_rules=frozenset({Rule.CONVERSION_STALL}))
    )
    assert await engine.tick() == []
    await do_put_alert_settings(db, shop.principal, shop.room_id, Thresholds(traffic_drop_ratio=0.6))
    assert await engine.tick() == []  # 650 >= 0.6 x 1000
    await do_put_alert_settings(db, shop.principal, shop.room_id, Thresholds())
    assert [a["rule"] for a in await engine.tick()] == ["traffic_drop"]
    await engine.close()


class FixedBaseline:
    def __init__(self, value: float | None) -> None:
        self.value = value
        self.asked: list[tuple[int, int, int]] = []

    async def baseline(self, shop_id: int, show_id: int, *, now: datetime, days: int) -> CtrBaseline | None:
        self.asked.append((shop_id, show_id, days))
        return None if self.value is None else CtrBaseline(self.value, "shop_30d", 40)


async def test_low_ctr_fires_once_the_engine_has_five_minutes_of_history(
    db: Database, fake_clock: FakeClock, events: Events
) -> None:
    shop = await make_live_shop(db, "讲解")
    metrics, notifier = FakeMetrics(), RecordingNotifier()
    baseline = FixedBaseline(0.10)
    # On air for 30 minutes at a steady 500 viewers; product 7 is explained; CTR 2% in every window.
    show = Show(show_id=shop.show_id, started_at=START - timedelta(minutes=30), ccu=500, explaining=7)
    show.minute_ccu = [500] * 30
    engine = engine_for(db, MemoryCounters(clock=fake_clock), metrics, notifier, events, baseline=baseline)
    fired_at: list[int] = []
    for step in range(36):  # every 10 s for 6 minutes
        show.product(7).exposure_uv = 1000 + 10 * step
        show.product(7).click_uv = 100 + step // 5
        metrics.snapshots[shop.show_id] = show.snapshot(START + timedelta(seconds=10 * step))
        if await engine.tick():
            fired_at.append(step)
    # 5 minutes of history (30 ticks) with 300 exposures and 6 clicks: 2% < 0.5 x 10%.
    assert fired_at == [30]
    [alert] = await engine.recent(shop.shop_id, shop.show_id)
    assert alert["rule"] == "low_ctr_explaining"
    assert alert["product_id"] == 7
    assert alert["figures"]["window_exposures"] == 300
    assert alert["figures"]["window_clicks"] == 6
    assert alert["figures"]["baseline_source"] == "shop_30d"
    assert set(baseline.asked) == {(shop.shop_id, shop.show_id, 30)}
    await engine.close()


async def test_a_failing_snapshot_does_not_stop_the_others(
    db: Database, fake_clock: FakeClock, events: Events
) -> None:
    broken, fine = await make_live_shop(db, "坏"), await make_live_shop(db, "好")
    metrics, notifier = FakeMetrics(), RecordingNotifier()
    metrics.snapshots[fine.show_id] = dropping(fine.show_id, 10).snapshot(at(0))  # broken has none: KeyError
    engine = engine_for(db, MemoryCounters(clock=fake_clock), metrics, notifier, events)
    with capture_logs() as logs:
        fired = await engine.tick()
    assert [a["show_id"] for a in fired] == [fine.show_id]
    assert [e["show_id"] for e in logs if e["event"] == "alert evaluation failed"] == [broken.show_id]
    await engine.close()


async def test_ended_shows_are_forgotten_and_rearmed(
    db: Database, fake_clock: FakeClock, events: Events
) -> None:
    shop = await make_live_shop(db, "结束")
    counters = MemoryCounters(clock=fake_clock)
    metrics, notifier = FakeMetrics(), RecordingNotifier()
    metrics.snapshots[shop.show_id] = dropping(shop.show_id, 10).snapshot(at(0))
    engine = engine_for(db, counters, metrics, notifier, events)
    assert len(await engine.tick()) == 1
    assert await counters.get(f"alerts:cur:{shop.show_id}:traffic_drop") == 1
    await rooms.do_transition_show(db, shop.principal, shop.show_id, ShowAction.END)
    assert await engine.tick() == []
    assert await counters.get(f"alerts:cur:{shop.show_id}:traffic_drop") == 0
    await engine.close()


async def test_the_engine_ticks_on_its_own_until_closed(db: Database, events: Events) -> None:
    shop = await make_live_shop(db, "循环")
    metrics, notifier = FakeMetrics(), RecordingNotifier()
    metrics.snapshots[shop.show_id] = dropping(shop.show_id, 10).snapshot(at(0))
    engine = AlertEngine(
        db=db,
        counters=MemoryCounters(),
        events=events.bus,
        metrics=None,
        resolve_metrics=lambda: metrics,  # the live metrics may start after the engine
        notifier=notifier,
        interval_seconds=0.05,
    )
    async with engine:
        for _ in range(100):
            if metrics.calls.get(shop.show_id, 0) >= 3:
                break
            await asyncio.sleep(0.02)
    assert metrics.calls[shop.show_id] >= 3
    assert len(await engine.recent(shop.shop_id, shop.show_id)) == 1


async def test_two_engines_on_one_counters_never_evaluate_a_show_twice(
    db: Database, shared_counters: Counters, events: Events
) -> None:
    shops = [await make_live_shop(db, name) for name in ("甲", "乙", "丙")]
    for shop in shops:
        await add_target(db, shop)
    metrics = FakeMetrics()
    for shop in shops:
        metrics.snapshots[shop.show_id] = dropping(shop.show_id, 10).snapshot(at(0))
    notifiers = [RecordingNotifier(), RecordingNotifier()]
    engines = [
        engine_for(db, shared_counters, metrics, notifier, events, node_token=token)
        for token, notifier in zip((11, 22), notifiers, strict=True)
    ]
    fired: list[dict[str, Any]] = []
    for round_ in range(1, 6):
        for result in await asyncio.gather(*(e.tick() for e in engines)):
            fired += result
        # Every show was evaluated exactly once per round, by whichever node holds its shop.
        assert [metrics.calls[s.show_id] for s in shops] == [round_] * 3
    assert sum(e.evaluations for e in engines) == 15
    assert sorted(a["show_id"] for a in fired) == sorted(s.show_id for s in shops)  # each alert once
    for engine in engines:
        await engine.outbox.drain()
    sent = [message.data["shop_id"] for n in notifiers for _target, message in n.sent]
    assert sorted(sent) == sorted(s.shop_id for s in shops)  # one digest per shop, from one node
    # One node stops: it gives its leases up and the other evaluates everything from the next tick.
    await engines[0].close()
    before = dict(metrics.calls)
    await engines[1].tick()
    assert all(metrics.calls[s.show_id] == before[s.show_id] + 1 for s in shops)
    await engines[1].close()
