"""The showcase: the product bag viewers read, and the product explained now (讲解中) with its segments."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from starlette.testclient import TestClient

from liveloop.rooms import EVENT_TYPES, ShowcaseExplaining
from liveloop.shops import Role
from tests.commerce.test_api import make_product
from tests.conftest import ShopKeys
from tests.rooms.showcase_setup import Recorder, error, stage


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_the_bag_is_the_lineup_for_staff_viewers_and_guests(client: TestClient, shop: ShopKeys) -> None:
    st = stage(client, shop, products=3, live=False)
    first, second, third = st.products
    client.delete(f"/api/v1/products/{second['id']}", headers=shop.headers())  # archived: not in the bag
    url = f"{st.url}/showcase"
    readers = {
        "owner": shop.headers(),
        "moderator": shop.headers(Role.MODERATOR),
        "viewer": st.viewer("alice"),
        "guest": {"X-Device-Id": "phone-1234"},
    }
    bags = {name: client.get(url, headers=headers) for name, headers in readers.items()}
    assert {name: r.status_code for name, r in bags.items()} == dict.fromkeys(readers, 200)
    bag = bags["guest"].json()
    assert all(r.json() == bag for r in bags.values())
    assert (bag["show_id"], bag["room_id"], bag["state"], bag["explaining_product_id"]) == (
        st.show_id,
        st.room_id,
        "scheduled",
        None,
    )
    assert bag["items"] == [
        {
            "position": position,
            "product_id": product["id"],
            "name": product["title"],
            "price_cents": product["price_cents"],
            "list_price_cents": product["list_price_cents"],
            "image_url": product["image_url"],
            "explaining": False,
        }
        for position, product in enumerate([first, third])
    ]


def test_the_bag_is_refused_without_credentials_and_across_shops(
    client: TestClient, shop: ShopKeys, other_shop: ShopKeys
) -> None:
    st = stage(client, shop, live=False)
    url = f"{st.url}/showcase"
    assert error(client.get(url), 401) == "auth.missing_credentials"
    assert error(client.get(url, headers={"Authorization": "Bearer nonsense"}), 401) == "auth.invalid_api_key"
    assert error(client.get(url, headers=other_shop.headers(Role.HOST)), 404) == "rooms.show_not_found"
    theirs = stage(client, other_shop, live=False).viewer("mallory")
    assert error(client.get(url, headers=theirs), 404) == "rooms.show_not_found"
    assert error(client.get(url, headers={"X-Device-Id": "x" * 65}), 422) == "request.invalid"
    assert error(client.get("/api/v1/shows/999999/showcase", headers={"X-Device-Id": "d1"}), 404) == (
        "rooms.show_not_found"
    )


def test_pin_switch_and_stop_record_segments_and_events(client: TestClient, shop: ShopKeys) -> None:
    st = stage(client, shop, products=3)
    events = Recorder(client)
    p1, p2, _p3 = (p["id"] for p in st.products)
    staff_id = client.get("/api/v1/me", headers=shop.headers(Role.HOST)).json()["staff"]["id"]

    pinned = st.pin(p1)
    assert pinned.status_code == 200, pinned.text
    assert pinned.json() | {"since": None} == {
        "show_id": st.show_id,
        "product_id": p1,
        "previous_product_id": None,
        "changed": True,
        "since": None,
    }
    bag = client.get(f"{st.url}/showcase", headers={"X-Device-Id": "d1"}).json()
    assert bag["explaining_product_id"] == p1
    assert _at(bag["explaining_since"]) == _at(pinned.json()["since"])
    assert [i["explaining"] for i in bag["items"]] == [True, False, False]
    assert client.get(st.url, headers=shop.headers()).json()["explaining_product_id"] == p1

    again = st.pin(p1, Role.OPERATOR)
    assert (again.json()["changed"], again.json()["since"]) == (False, pinned.json()["since"])
    assert st.pin(p2, Role.OWNER).json()["previous_product_id"] == p1
    stopped = st.pin(None).json()
    assert (stopped["product_id"], stopped["previous_product_id"], stopped["since"]) == (None, p2, None)
    assert client.get(f"{st.url}/showcase", headers=shop.headers()).json()["explaining_product_id"] is None

    explained = [e for e in events.settled() if e.type == "showcase.explaining"]
    assert [(e.data["product_id"], e.data["previous_product_id"]) for e in explained] == [
        (p1, None),
        (p2, p1),
        (None, p2),
    ]
    first = explained[0]
    assert (first.data["name"], first.data["price_cents"], first.data["image_url"]) == (
        st.products[0]["title"],
        st.products[0]["price_cents"],
        st.products[0]["image_url"],
    )
    assert explained[2].data["name"] is None
    assert {(e.shop_id, e.room_id, e.show_id) for e in explained} == {(shop.shop_id, st.room_id, st.show_id)}
    assert (explained[0].actor, explained[2].actor) == (f"staff:{staff_id}", f"staff:{staff_id}")

    segments = client.get(f"{st.url}/explain-segments", headers=shop.headers(Role.MODERATOR)).json()
    assert [s["product_id"] for s in segments] == [p1, p2]
    assert segments[0]["started_at"] == pinned.json()["since"]
    assert all(s["ended_at"] is not None for s in segments)
    assert _at(segments[0]["ended_at"]) == _at(segments[1]["started_at"])


def test_ending_the_show_ends_the_open_segment(client: TestClient, shop: ShopKeys) -> None:
    st = stage(client, shop, products=2)
    events = Recorder(client, ("showcase.explaining", "show.ended"))
    p1, p2 = (p["id"] for p in st.products)
    st.pin(p1)
    st.pin(p2)
    ended = client.post(f"{st.url}/end", headers=shop.headers(Role.HOST)).json()
    assert (ended["explaining_product_id"], ended["explaining_since"]) == (None, None)
    segments = client.get(f"{st.url}/explain-segments", headers=shop.headers()).json()
    assert [(s["product_id"], s["ended_at"] is None) for s in segments] == [(p1, False), (p2, False)]
    assert _at(segments[-1]["ended_at"]) == _at(ended["ended_at"])
    tail = [(e.type, e.data.get("product_id"), e.data.get("previous_product_id")) for e in events.settled()]
    assert tail[-2:] == [("showcase.explaining", None, p2), ("show.ended", None, None)]
    assert error(st.pin(p1), 409) == "showcase.show_not_live"
    assert client.get(f"{st.url}/showcase", headers=shop.headers()).json()["explaining_product_id"] is None


def test_ending_a_show_with_nothing_explained_emits_no_stop(client: TestClient, shop: ShopKeys) -> None:
    st = stage(client, shop, products=1)
    events = Recorder(client, ("showcase.explaining", "show.ended"))
    client.post(f"{st.url}/end", headers=shop.headers(Role.HOST))
    assert [e.type for e in events.settled()] == ["show.ended"]
    assert client.get(f"{st.url}/explain-segments", headers=shop.headers()).json() == []


def test_pinning_is_refused_outside_the_rules(
    client: TestClient, shop: ShopKeys, other_shop: ShopKeys
) -> None:
    scheduled = stage(client, shop, products=1, live=False)
    assert error(scheduled.pin(scheduled.products[0]["id"]), 409) == "showcase.show_not_live"

    st = stage(client, shop, products=2)
    events = Recorder(client)
    listed, archived = (p["id"] for p in st.products)
    outside = make_product(client, shop, sku="NOT-LISTED")["id"]
    foreign = stage(client, other_shop, products=1, live=False)
    not_listed = st.pin(outside)
    assert error(not_listed, 422) == "showcase.not_in_lineup"
    assert not_listed.json()["error"]["details"] == {"product_ids": [outside]}
    assert error(st.pin(foreign.products[0]["id"]), 422) == "showcase.not_in_lineup"
    client.delete(f"/api/v1/products/{archived}", headers=shop.headers())
    assert error(st.pin(archived), 422) == "rooms.invalid_lineup"
    assert error(st.pin(listed, Role.MODERATOR), 403) == "auth.permission_denied"
    put = f"{st.url}/explaining"
    viewer = client.put(put, json={"product_id": listed}, headers=st.viewer("alice"))
    assert error(viewer, 401) == "auth.invalid_api_key"  # a viewer token is no staff key
    other = client.put(put, json={"product_id": listed}, headers=other_shop.headers(Role.HOST))
    assert error(other, 404) == "rooms.show_not_found"
    assert error(client.put(put, json={"product_id": 0}, headers=shop.headers()), 422) == (
        "request.validation_error"
    )
    assert error(client.put(put, json={}, headers=shop.headers()), 422) == "request.validation_error"
    assert client.get(f"{st.url}/showcase", headers=shop.headers()).json()["explaining_product_id"] is None
    assert client.get(f"{st.url}/explain-segments", headers=shop.headers()).json() == []
    assert events.settled() == []
    refused = client.get(f"{st.url}/explain-segments", headers=other_shop.headers())
    assert error(refused, 404) == "rooms.show_not_found"


def test_concurrent_pins_leave_one_open_segment(client: TestClient, shop: ShopKeys) -> None:
    """Hosts racing to pin: each change closes one segment and opens the next, never two open."""
    st = stage(client, shop, products=4)
    ids = [p["id"] for p in st.products]
    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(pool.map(lambda n: st.pin(ids[n % 4]).status_code, range(12)))
    assert codes == [200] * 12, codes
    segments = client.get(f"{st.url}/explain-segments", headers=shop.headers()).json()
    open_ = [s for s in segments if s["ended_at"] is None]
    current = client.get(f"{st.url}/showcase", headers=shop.headers()).json()["explaining_product_id"]
    assert [s["product_id"] for s in open_] == [current]
    for before, after in itertools.pairwise(segments):
        assert before["ended_at"] == after["started_at"]


def test_showcase_events_round_trip() -> None:
    payload = ShowcaseExplaining(
        show_id=1, product_id=2, previous_product_id=None, name="口红", price_cents=8900
    )
    assert EVENT_TYPES["showcase.explaining"].model_validate(payload.model_dump(mode="json")) == payload
    assert set(EVENT_TYPES) >= {"showcase.explaining", "product.exposed", "product.clicked", "cart.added"}
