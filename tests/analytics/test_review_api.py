"""``GET /api/v1/shows/{id}/review`` over a real app (SQLite + DuckDB, PostgreSQL + its event store)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from liveloop.core.container import Container
from liveloop.shops import Role
from tests.analytics.review_support import Script
from tests.conftest import ShopKeys, created, run_in_app


def make_show(client: TestClient, shop: ShopKeys, *, start: bool = True) -> dict[str, Any]:
    h = shop.headers()
    room = created(client.post("/api/v1/rooms", json={"name": "直播间"}, headers=h))
    body = {
        "room_id": room["id"],
        "title": "春季新品专场",
        "planned_start": "2026-12-01T12:00:00Z",
        "planned_end": "2026-12-01T14:00:00Z",
    }
    show = created(client.post("/api/v1/shows", json=body, headers=h))
    if start:
        answer = client.post(f"/api/v1/shows/{show['id']}/start", headers=h)
        assert answer.status_code == 200, answer.text
        show = answer.json()
    return show


def record(client: TestClient, script: Script) -> None:
    async def append(container: Container) -> None:
        assert container.event_store is not None
        await container.event_store.append(script.events)

    run_in_app(client, append)


def test_review_of_an_ended_show_in_the_api(client: TestClient, shop: ShopKeys, other_shop: ShopKeys) -> None:
    h = shop.headers()
    product = created(
        client.post(
            "/api/v1/products", json={"sku": "LIP-1", "title": "丝绒口红", "price_cents": 8900}, headers=h
        )
    )
    show = make_show(client, shop)
    started = datetime.fromisoformat(show["started_at"].replace("Z", "+00:00"))
    a, b = f"u:{uuid.uuid4().hex[:8]}", f"d:{uuid.uuid4().hex[:8]}"
    s = Script(started, shop_id=shop.shop_id, room_id=show["room_id"], show_id=show["id"])
    s.enter(0.001, a, "follow")
    s.enter(0.002, b, "share")
    s.at(0.003, "comment.posted", a, text="好看")
    s.at(0.004, "product.exposed", a, show_id=show["id"], product_id=product["id"], surface="pinned")
    s.at(0.005, "product.clicked", a, show_id=show["id"], product_id=product["id"], surface="pinned")
    s.order(0.006, "order.created", a, 1, product["id"], 8900)
    s.order(0.007, "order.paid", a, 1, product["id"], 8900, provider="sim")
    s.leave(0.008, b, 0.006)
    record(client, s)
    assert client.post(f"/api/v1/shows/{show['id']}/end", headers=h).status_code == 200

    answer = client.get(f"/api/v1/shows/{show['id']}/review", headers=h)
    assert answer.status_code == 200, answer.text
    review = answer.json()
    assert (review["show_id"], review["status"], review["partial"]) == (show["id"], "ended", False)
    t = review["totals"]
    assert (t["uv"], t["pv"], t["comments"], t["paid_orders"], t["gmv_cents"]) == (2, 2, 1, 1, 8900)
    assert t["view_to_paid"] == {"value": 0.5, "numerator": 1, "denominator": 2, "base": "uv"}
    assert t["sources"] == {"follow": 1, "share": 1}
    (row,) = review["products"]
    assert (row["product_id"], row["title"], row["gmv_cents"]) == (product["id"], "丝绒口红", 8900)
    assert review["show"]["title"] == "春季新品专场"
    for section in ("minutes", "funnel", "retention", "activities", "history", "audience", "suggestions"):
        assert section in review
    for role in (Role.OPERATOR, Role.HOST):
        assert client.get(f"/api/v1/shows/{show['id']}/review", headers=shop.headers(role)).status_code == 200
    denied = client.get(f"/api/v1/shows/{show['id']}/review", headers=shop.headers(Role.MODERATOR))
    assert denied.status_code == 403
    foreign = client.get(f"/api/v1/shows/{show['id']}/review", headers=other_shop.headers())
    assert foreign.status_code == 404
    assert foreign.json()["error"]["code"] == "rooms.show_not_found"


def test_a_scheduled_show_has_no_review_and_a_live_one_a_partial_one(
    client: TestClient, shop: ShopKeys
) -> None:
    scheduled = make_show(client, shop, start=False)
    answer = client.get(f"/api/v1/shows/{scheduled['id']}/review", headers=shop.headers())
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "review.show_not_started"
    live = make_show(client, shop)
    started = datetime.fromisoformat(live["started_at"].replace("Z", "+00:00"))
    s = Script(started, shop_id=shop.shop_id, room_id=live["room_id"], show_id=live["id"])
    s.enter(0.001, f"u:{uuid.uuid4().hex[:8]}")
    record(client, s)
    answer = client.get(f"/api/v1/shows/{live['id']}/review", headers=shop.headers())
    assert answer.status_code == 200, answer.text
    review = answer.json()
    assert (review["status"], review["partial"], review["ended_at"], review["after_show"]) == (
        "live", True, None, None,
    )  # fmt: skip
    assert (review["totals"]["uv"], review["totals"]["ccu"]) == (1, 1)
    started_at = datetime.fromisoformat(review["started_at"].replace("Z", "+00:00"))
    as_of = datetime.fromisoformat(review["as_of"].replace("Z", "+00:00"))
    assert as_of - started_at < timedelta(minutes=5)
    missing = client.get("/api/v1/shows/987654/review", headers=shop.headers())
    assert missing.status_code == 404
