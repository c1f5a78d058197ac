"""End to end in a real app: events -> LiveMetrics -> AlertEngine -> stored alert -> signed webhook digest."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from liveloop.settings import Settings
from tests.analytics.live_support import emit, start_show
from tests.conftest import ShopKeys, created, run_in_app
from tests.fake_http import Answer, FakeReceiver, serving

X, Y = 501, 502  # X is explained now; Y was explained before and clicked well


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The fake receivers listen on 127.0.0.1, so this module allows private notify hosts
    (the guard itself: tests/shops/test_notify_guard.py)."""
    return settings.model_copy(update={"notify_allow_private_hosts": True})


def wait_for(what: Any, *, seconds: float = 10) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = what()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_low_ctr_on_the_explained_product_fires_from_live_metrics(client: TestClient, shop: ShopKeys) -> None:
    secret = "digest-secret-0123"
    with serving(FakeReceiver(default=Answer(200))) as receiver:
        created(
            client.post(
                "/api/v1/notify-targets",
                json={"kind": "webhook", "url": receiver.url + "/alerts", "secret": secret},
                headers=shop.headers(),
            )
        )
        show = start_show(client, shop)
        sid = show["id"]
        card = {"show_id": sid, "surface": "card"}
        entered = {"nickname": "n", "guest": False, "source": "recommend"}
        emit(client, shop, show, [("viewer.entered", f"u:{i}", entered) for i in range(150)])
        emit(
            client,
            shop,
            show,
            [
                (
                    "showcase.explaining",
                    "staff:1",
                    {"show_id": sid, "product_id": Y, "previous_product_id": None},
                )
            ],
        )
        emit(
            client, shop, show, [("product.exposed", f"u:{i}", card | {"product_id": Y}) for i in range(100)]
        )
        emit(client, shop, show, [("product.clicked", f"u:{i}", card | {"product_id": Y}) for i in range(50)])
        time.sleep(1.1)  # Y is explained for a second
        # X's events in one go: the engine, ticking on its own, sees all of them or too few exposures.
        explain_x = {"show_id": sid, "product_id": X, "previous_product_id": Y}
        emit(
            client,
            shop,
            show,
            [("showcase.explaining", "staff:1", explain_x)]
            + [("product.exposed", f"u:{i}", card | {"product_id": X}) for i in range(250)]
            + [("product.clicked", f"u:{i}", card | {"product_id": X}) for i in range(5)],
        )

        def ready() -> bool:
            body = client.get(f"/api/v1/shows/{sid}/metrics", headers=shop.headers()).json()
            products = {p["product_id"]: p for p in body["products"]}
            return bool(
                body["explaining_product_id"] == X
                and body["totals"]["ccu"] == 150
                and products.get(X, {}).get("click_uv") == 5
            )

        assert wait_for(ready), "the live metrics never caught up"
        alerts = client.app.state.alerts  # type: ignore[attr-defined]
        run_in_app(client, lambda c: alerts.tick())  # the engine's own loop may have fired it already
        items = client.get(f"/api/v1/shows/{sid}/alerts", headers=shop.headers()).json()["items"]
        assert [a["rule"] for a in items] == ["low_ctr_explaining"]
        alert = items[0]
        assert alert["product_id"] == X
        figures = alert["figures"]
        # The show is younger than 5 minutes: its window is the whole show. Baseline: no earlier shows,
        # so the median CTR of this show's explained products: X 5/250 = 2%, Y 50/100 = 50% -> 26%.
        assert (figures["window_exposures"], figures["window_clicks"], figures["ctr"]) == (250, 5, 0.02)
        assert (figures["baseline_source"], figures["ctr_baseline"], figures["ctr_threshold"]) == (
            "show",
            0.26,
            0.13,
        )
        assert (figures["ccu"], figures["ccu_threshold"]) == (150, 150.0)
        # The console's read is the same.
        recent = run_in_app(client, lambda c: alerts.recent(shop.shop_id, sid))
        assert [a["id"] for a in recent] == [alert["id"]]

        assert wait_for(lambda: receiver.received), "no digest reached the webhook"
        [request] = receiver.received
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["x-liveloop-signature"], expected)
    body = request.json()
    assert isinstance(body, dict)
    assert body["type"] == "liveloop.alerts.digest"
    assert [(a["id"], a["rule"], a["product_id"]) for a in body["alerts"]] == [
        (alert["id"], "low_ctr_explaining", X)
    ]
