"""A live show with a line-up, and a recorder of showcase events: shared by the showcase tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.testclient import TestClient

from liveloop.core.container import Container
from liveloop.core.events import Event, EventData, make_event
from liveloop.shops import Role
from tests.commerce.test_api import make_product
from tests.conftest import ShopKeys, created, run_in_app
from tests.rooms.test_api import make_room, make_show

SHOWCASE_TYPES = ("showcase.explaining", "product.exposed", "product.clicked", "cart.added")
Headers = dict[str, str]


@dataclass(frozen=True)
class Stage:
    """A shop's room and show (live unless asked otherwise) selling ``products`` in that order."""

    client: TestClient
    shop: ShopKeys
    room_id: int
    show_id: int
    products: list[dict[str, Any]]

    @property
    def url(self) -> str:
        return f"/api/v1/shows/{self.show_id}"

    def pin(self, product_id: int | None, role: Role = Role.HOST) -> Any:
        return self.client.put(
            f"{self.url}/explaining", json={"product_id": product_id}, headers=self.shop.headers(role)
        )

    def viewer(self, user_id: str) -> Headers:
        body = {"user_id": user_id, "nickname": user_id}
        issued = self.client.post("/api/v1/viewer-tokens", json=body, headers=self.shop.headers())
        return {"Authorization": f"Bearer {created(issued)['token']}"}

    def signals(self, headers: Headers, *signals: dict[str, Any]) -> Any:
        return self.client.post(
            f"{self.url}/showcase/signals", json={"signals": list(signals)}, headers=headers
        )


def stage(
    client: TestClient, shop: ShopKeys, *, products: int = 3, live: bool = True, room_id: int | None = None
) -> Stage:
    """A show (in ``room_id``, or a new room) selling ``products`` new products, started if ``live``."""
    room = room_id or make_room(client, shop)["id"]
    show = make_show(client, shop, room)["id"]
    items = [
        make_product(
            client,
            shop,
            sku=f"SC-{show}-{n}",
            title=f"商品{n} Product {n}",
            price_cents=1000 * (n + 1),
            image_url=f"https://img.example.com/{n}.png",
        )
        for n in range(products)
    ]
    lineup = {"product_ids": [p["id"] for p in items]}
    assert client.put(f"/api/v1/shows/{show}/lineup", json=lineup, headers=shop.headers()).status_code == 200
    if live:
        assert client.post(f"/api/v1/shows/{show}/start", headers=shop.headers()).status_code == 200
    return Stage(client=client, shop=shop, room_id=room, show_id=show, products=items)


def signal(kind: str, product_id: int, surface: str = "card", **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "product_id": product_id, "surface": surface} | extra


class _Settled(EventData):
    TYPE = "test.settled"
    mark: str


class Recorder:
    """Every event of ``types`` the app emits, in emit order (the bus delivers in that order)."""

    def __init__(self, client: TestClient, types: Sequence[str] = SHOWCASE_TYPES) -> None:
        self.client = client
        self.types = frozenset(types)
        self.seen: list[Event] = []
        self._marks: set[str] = set()

        async def record(batch: Sequence[Event]) -> None:
            for event in batch:
                if event.type == _Settled.TYPE:
                    self._marks.add(event.data["mark"])
                elif event.type in self.types:
                    self.seen.append(event)

        async def subscribe(c: Container) -> None:
            c.events.subscribe(record)

        run_in_app(client, subscribe)

    def settled(self) -> list[Event]:
        """What was recorded once everything emitted before this call has been delivered."""
        mark = uuid.uuid4().hex

        async def emit(c: Container) -> None:
            c.events.emit(make_event(_Settled(mark=mark), shop_id=0))

        run_in_app(self.client, emit)
        deadline = time.monotonic() + 10
        while mark not in self._marks:
            assert time.monotonic() < deadline, "the event bus did not deliver in time"
            time.sleep(0.01)
        return list(self.seen)

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.settled() if e.type == kind]


def error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    code: str = response.json()["error"]["code"]
    return code
