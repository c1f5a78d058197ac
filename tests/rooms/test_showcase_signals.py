"""Viewer signals about the show's products: exposure (first sighting only), click, add to cart."""

from __future__ import annotations

import asyncio
import uuid
from typing import cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from liveloop.adapters.redis import RedisCounters, make_redis
from liveloop.core.container import Container
from liveloop.rooms import ProductSignal, Surface, do_record_signals
from liveloop.shops import Role, guest_viewer
from tests.backends import REDIS_ENV, backend_url
from tests.conftest import ShopKeys, created, run_in_app
from tests.contracts.conftest import drop_namespace
from tests.rooms.showcase_setup import Recorder, Stage, error, signal, stage


def test_an_exposure_counts_once_per_viewer_and_product(client: TestClient, shop: ShopKeys) -> None:
    s = stage(client, shop, products=2)
    events = Recorder(client)
    p1, p2 = (p["id"] for p in s.products)
    alice, bob, guest = s.viewer("alice"), s.viewer("bob"), {"X-Device-Id": "phone-42"}

    first = s.signals(alice, signal("exposure", p1), signal("exposure", p1, "bag"), signal("exposure", p2))
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 3, "recorded": 2}
    assert s.signals(alice, signal("exposure", p1, "pinned")).json() == {"accepted": 1, "recorded": 0}
    assert s.signals(bob, signal("exposure", p1)).json()["recorded"] == 1
    assert s.signals(guest, signal("exposure", p1, "bag")).json()["recorded"] == 1
    assert s.signals(guest, signal("exposure", p1)).json()["recorded"] == 0

    exposed = events.of("product.exposed")
    assert [(e.actor, e.data["product_id"], e.data["surface"]) for e in exposed] == [
        ("u:alice", p1, "card"),
        ("u:alice", p2, "card"),
        ("u:bob", p1, "card"),
        ("d:phone-42", p1, "bag"),
    ]
    assert {(e.shop_id, e.room_id, e.show_id, e.data["show_id"]) for e in exposed} == {
        (shop.shop_id, s.room_id, s.show_id, s.show_id)
    }


def test_clicks_and_cart_adds_are_each_an_event(client: TestClient, shop: ShopKeys) -> None:
    s = stage(client, shop, products=1)
    events = Recorder(client)
    p1 = s.products[0]["id"]
    alice = s.viewer("alice")
    batch = [
        signal("click", p1, "pinned"),
        signal("click", p1, "pinned"),
        signal("add_to_cart", p1, quantity=3),
    ]
    assert s.signals(alice, *batch).json() == {"accepted": 3, "recorded": 3}
    assert s.signals({"X-Device-Id": "tablet"}, signal("add_to_cart", p1, "bag")).json()["recorded"] == 1
    recorded = events.settled()
    assert [(e.type, e.actor) for e in recorded] == [
        ("product.clicked", "u:alice"),
        ("product.clicked", "u:alice"),
        ("cart.added", "u:alice"),
        ("cart.added", "d:tablet"),
    ]
    assert recorded[0].data == {"show_id": s.show_id, "product_id": p1, "surface": "pinned"}
    assert [e.data["quantity"] for e in recorded[2:]] == [3, 1]


def test_a_batch_naming_a_product_outside_the_lineup_records_nothing(
    client: TestClient, shop: ShopKeys
) -> None:
    s = stage(client, shop, products=1)
    events = Recorder(client)
    p1 = s.products[0]["id"]
    outside = created(
        client.post(
            "/api/v1/products", json={"sku": "OUT-1", "title": "t", "price_cents": 1}, headers=shop.headers()
        )
    )["id"]
    alice = s.viewer("alice")
    refused = s.signals(alice, signal("exposure", p1), signal("click", outside), signal("click", 2**52))
    assert error(refused, 422) == "showcase.not_in_lineup"
    assert refused.json()["error"]["details"] == {"product_ids": sorted([outside, 2**52])}
    assert events.settled() == []
    # Nothing of the refused batch was remembered: the exposure still counts now.
    assert s.signals(alice, signal("exposure", p1)).json()["recorded"] == 1


def test_signals_need_a_live_show_of_the_viewers_shop(
    client: TestClient, shop: ShopKeys, other_shop: ShopKeys
) -> None:
    scheduled = stage(client, shop, products=1, live=False)
    p = scheduled.products[0]["id"]
    alice = scheduled.viewer("alice")
    assert error(scheduled.signals(alice, signal("click", p)), 409) == "showcase.show_not_live"
    live = stage(client, shop, products=1)
    q = live.products[0]["id"]
    client.post(f"{live.url}/end", headers=shop.headers())
    assert error(live.signals(alice, signal("click", q)), 409) == "showcase.show_not_live"

    theirs = stage(client, other_shop, products=1)
    mallory = theirs.viewer("mallory")
    foreign = stage(client, shop, products=1)
    assert error(foreign.signals(mallory, signal("click", foreign.products[0]["id"])), 404) == (
        "rooms.show_not_found"
    )
    missing = client.post(
        "/api/v1/shows/999999/showcase/signals",
        json={"signals": [signal("click", 1)]},
        headers={"X-Device-Id": "d1"},
    )
    assert error(missing, 404) == "rooms.show_not_found"


def test_signals_take_viewers_not_staff_keys(client: TestClient, shop: ShopKeys) -> None:
    s = stage(client, shop, products=1)
    events = Recorder(client)
    body = [signal("click", s.products[0]["id"])]
    assert error(s.signals({}, *body), 401) == "auth.missing_credentials"
    for role in Role:
        assert error(s.signals(shop.headers(role), *body), 401) == "auth.invalid_viewer_token"
    # A staff socket token is a viewer token with a role: accepted, but staff are not audience.
    staff = created(client.post("/api/v1/socket-tokens", headers=shop.headers(Role.HOST)))["token"]
    taken = s.signals({"Authorization": f"Bearer {staff}"}, *body)
    assert taken.json() == {"accepted": 1, "recorded": 0}
    assert events.settled() == []


@pytest.mark.parametrize(
    "bad",
    [
        {"signals": []},
        {"signals": [signal("click", 1)] * 51},
        {"signals": [signal("like", 1)]},
        {"signals": [signal("click", 1, "feed")]},
        {"signals": [signal("click", 0)]},
        {"signals": [signal("add_to_cart", 1, quantity=0)]},
        {"signals": [signal("add_to_cart", 1, quantity=100)]},
        {"signals": [signal("click", 1) | {"price_cents": 1}]},
    ],
)
def test_malformed_batches_are_refused(client: TestClient, shop: ShopKeys, bad: dict[str, object]) -> None:
    s = stage(client, shop, products=1)
    sent = client.post(f"{s.url}/showcase/signals", json=bad, headers={"X-Device-Id": "d1"})
    assert error(sent, 422) == "request.validation_error"


def test_each_viewer_has_a_signal_budget(client: TestClient, shop: ShopKeys) -> None:
    s = stage(client, shop, products=1)
    p = s.products[0]["id"]
    alice, bob = s.viewer("alice"), s.viewer("bob")
    full = [signal("click", p)] * 50
    assert s.signals(alice, *full).status_code == 200
    assert s.signals(alice, *full).status_code == 200
    limited = s.signals(alice, *full)
    assert error(limited, 429) == "showcase.rate_limited"
    assert limited.json()["error"]["details"]["retry_after_seconds"] > 0
    assert s.signals(bob, *full).status_code == 200  # budgets are per viewer


def _exposure(s: Stage) -> list[ProductSignal]:
    return [ProductSignal("exposure", s.products[0]["id"], "card")]


def test_concurrent_reports_of_one_sighting_make_one_exposure(client: TestClient, shop: ShopKeys) -> None:
    """Many sockets of one viewer (a phone and a tablet, a retry storm) report the same card at once."""
    s = stage(client, shop, products=1)
    exposure = _exposure(s)
    viewer = guest_viewer(shop.shop_id, "phone-1")

    async def race(c: Container) -> int:
        calls = [do_record_signals(c.db, c.counters, viewer, s.show_id, exposure) for _ in range(40)]
        return sum(len(events) for events in await asyncio.gather(*calls))

    assert run_in_app(client, race) == 1


@pytest.mark.redis
def test_exposure_dedup_holds_across_nodes(client: TestClient, shop: ShopKeys) -> None:
    s = stage(client, shop, products=1)
    exposure = _exposure(s)
    url = backend_url(REDIS_ENV)
    namespace = f"test:{uuid.uuid4().hex}"

    async def race(c: Container) -> list[int]:
        clients = [make_redis(url), make_redis(url)]
        nodes = [RedisCounters(r, namespace=namespace) for r in clients]
        try:
            counts = []
            for viewer_id in ("alice", "bob"):
                viewer = guest_viewer(shop.shop_id, viewer_id)
                calls = [
                    do_record_signals(c.db, nodes[n % 2], viewer, s.show_id, exposure) for n in range(30)
                ]
                counts.append(sum(len(e) for e in await asyncio.gather(*calls)))
            return counts
        finally:
            await drop_namespace(clients[0], namespace)
            for redis in clients:
                await redis.aclose()

    assert run_in_app(client, race) == [1, 1]


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    sightings=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]), st.integers(0, 2), st.sampled_from(["card", "bag", "pinned"])
        ),
        max_size=30,
    )
)
def test_exposure_events_are_the_distinct_first_sightings(
    showcase_stage: Stage, sightings: list[tuple[str, int, str]]
) -> None:
    """Whatever viewers report, in whatever batches: one event per (viewer, product), the first one."""
    s = showcase_stage
    run = uuid.uuid4().hex[:8]
    ids = [p["id"] for p in s.products]

    async def report(c: Container) -> list[tuple[str, int, str]]:
        made = []
        for n, (who, product, surface) in enumerate(sightings):
            viewer = guest_viewer(s.shop.shop_id, f"{run}-{who}")
            repeat = 1 + n % 2  # sometimes the same sighting twice in one batch
            batch = [ProductSignal("exposure", ids[product], cast(Surface, surface))] * repeat
            for event in await do_record_signals(c.db, c.counters, viewer, s.show_id, batch):
                made.append((event.actor or "", event.data["product_id"], event.data["surface"]))
        return made

    expected: dict[tuple[str, int], str] = {}
    for who, product, surface in sightings:
        expected.setdefault((f"d:{run}-{who}", ids[product]), surface)
    made = run_in_app(s.client, report)
    assert made == [(viewer, product, surface) for (viewer, product), surface in expected.items()]


@pytest.fixture
def showcase_stage(client: TestClient, shop: ShopKeys) -> Stage:
    return stage(client, shop, products=3)
