"""Payments: signed notifications (good, bad, repeated, wrong amount, failed), secret rotation, the
simulated provider."""

from __future__ import annotations

import json
from typing import Any

from starlette.testclient import TestClient

from liveloop.commerce import PaymentOutcome, SimulatedPayments, sign_notification
from liveloop.shops import Role
from tests.commerce.conftest import (
    EventLog,
    buy,
    error_code,
    make_product,
    make_sale,
    payments_of,
    viewer_token,
)
from tests.conftest import ShopKeys, created


def set_secret(client: TestClient, shop: ShopKeys) -> str:
    rotated = client.post("/api/v1/payments/secret/rotate", headers=shop.headers())
    assert rotated.status_code == 200, rotated.text
    secret: str = rotated.json()["secret"]
    return secret


def notify(
    client: TestClient,
    shop: ShopKeys,
    secret: str,
    order: dict[str, Any],
    *,
    status: str = "succeeded",
    ref: str | None = None,
    amount: int | None = None,
    provider: str = "alipay",
    signature: str | None = None,
) -> Any:
    raw = json.dumps(
        {
            "shop_id": shop.shop_id,
            "order_id": order["id"],
            "provider_ref": ref or f"ref-{order['id']}",
            "status": status,
            "amount_cents": order["amount_cents"] if amount is None else amount,
        }
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Liveloop-Signature": signature or sign_notification(secret, raw),
    }
    return client.post(f"/api/v1/payments/notify/{provider}", content=raw, headers=headers)


def order_state(client: TestClient, shop: ShopKeys, order_id: int) -> str:
    state: str = client.get(f"/api/v1/orders/{order_id}", headers=shop.headers()).json()["state"]
    return state


def test_a_signed_notification_pays_the_order_once(
    client: TestClient, shop: ShopKeys, event_log: EventLog
) -> None:
    secret = set_secret(client, shop)
    order = created(
        buy(client, viewer_token(client, shop, "alice"), product_id=make_product(client, shop)["id"])
    )
    first = notify(client, shop, secret, order)
    assert first.json() == {"result": "applied", "order_id": order["id"], "state": "paid"}
    repeat = notify(client, shop, secret, order)
    assert repeat.status_code == 200
    assert repeat.json()["result"] == "duplicate"
    detail = client.get(f"/api/v1/orders/{order['id']}", headers=shop.headers()).json()
    assert detail["state"] == "paid"
    assert detail["paid_at"] is not None
    assert (detail["payment"]["provider"], detail["payment"]["state"]) == ("alipay", "succeeded")
    assert detail["payment"]["simulated"] is False
    another_ref = notify(client, shop, secret, order, ref="second-charge")
    assert (another_ref.status_code, error_code(another_ref)) == (409, "commerce.illegal_order_transition")
    events = event_log.wait(lambda evs: any(e.type == "order.paid" for e in evs))
    paid = [e for e in events if e.type == "order.paid"]
    assert len(paid) == 1
    assert paid[0].data["provider"] == "alipay"
    assert paid[0].data["amount_cents"] == order["amount_cents"]


def test_a_bad_signature_changes_nothing(client: TestClient, shop: ShopKeys, other_shop: ShopKeys) -> None:
    secret = set_secret(client, shop)
    theirs = set_secret(client, other_shop)
    order = created(
        buy(client, viewer_token(client, shop, "alice"), product_id=make_product(client, shop)["id"])
    )
    attempts = [
        notify(client, shop, secret, order, signature="sha256=" + "0" * 64),
        notify(client, shop, theirs, order),  # signed with another shop's secret
        notify(client, shop, secret, order, signature="not-a-signature"),
    ]
    unsigned = client.post(
        "/api/v1/payments/notify/alipay",
        json={
            "shop_id": shop.shop_id,
            "order_id": order["id"],
            "provider_ref": "r",
            "status": "succeeded",
            "amount_cents": order["amount_cents"],
        },
    )
    for response in [*attempts, unsigned]:
        assert (response.status_code, error_code(response)) == (401, "commerce.payment_signature_invalid")
    assert order_state(client, shop, order["id"]) == "created"


def test_a_shop_without_a_secret_accepts_no_notification(client: TestClient, shop: ShopKeys) -> None:
    order = created(
        buy(client, viewer_token(client, shop, "alice"), product_id=make_product(client, shop)["id"])
    )
    response = notify(client, shop, "guessed", order)
    assert error_code(response) == "commerce.payment_signature_invalid"
    assert order_state(client, shop, order["id"]) == "created"


def test_the_amount_must_match(client: TestClient, shop: ShopKeys) -> None:
    secret = set_secret(client, shop)
    order = created(
        buy(client, viewer_token(client, shop, "alice"), product_id=make_product(client, shop)["id"])
    )
    response = notify(client, shop, secret, order, amount=order["amount_cents"] - 1)
    assert (response.status_code, error_code(response)) == (409, "commerce.payment_amount_mismatch")
    assert order_state(client, shop, order["id"]) == "created"
    detail = client.get(f"/api/v1/orders/{order['id']}", headers=shop.headers()).json()
    assert detail["payment"]["provider"] == "simulated"  # no payment row was written for it


def test_a_notice_for_another_shops_order_is_not_found(
    client: TestClient, shop: ShopKeys, other_shop: ShopKeys
) -> None:
    secret = set_secret(client, shop)
    product = make_product(client, other_shop)
    theirs = created(buy(client, viewer_token(client, other_shop, "carol"), product_id=product["id"]))
    response = notify(client, shop, secret, theirs)  # our shop id and secret, their order id
    assert (response.status_code, error_code(response)) == (404, "commerce.order_not_found")
    assert order_state(client, other_shop, theirs["id"]) == "created"


def test_a_failed_payment_cancels_and_releases(
    client: TestClient, shop: ShopKeys, event_log: EventLog
) -> None:
    secret = set_secret(client, shop)
    sale = make_sale(client, shop, stock=1)
    alice, bob = viewer_token(client, shop, "alice"), viewer_token(client, shop, "bob")
    order = created(buy(client, alice, flash_sale_id=sale["id"]))
    assert error_code(buy(client, bob, flash_sale_id=sale["id"])) == "commerce.sold_out"
    failed = notify(client, shop, secret, order, status="failed")
    assert failed.json()["state"] == "cancelled"
    assert notify(client, shop, secret, order, status="failed").json()["result"] == "duplicate"
    late = notify(client, shop, secret, order, status="succeeded", ref="late")
    assert error_code(late) == "commerce.illegal_order_transition"
    detail = client.get(f"/api/v1/orders/{order['id']}", headers=shop.headers()).json()
    assert (detail["state"], detail["cancel_reason"]) == ("cancelled", "payment_failed")
    assert created(buy(client, bob, flash_sale_id=sale["id"]))["buyer_id"] == "u:bob"
    events = event_log.wait(lambda evs: any(e.type == "order.cancelled" for e in evs))
    assert next(e for e in events if e.type == "order.cancelled").data["reason"] == "payment_failed"


def test_rotation_keeps_the_previous_secret_for_one_rotation(client: TestClient, shop: ShopKeys) -> None:
    assert (
        client.post("/api/v1/payments/secret/rotate", headers=shop.headers(Role.OPERATOR)).status_code == 403
    )
    product = make_product(client, shop)
    alice = viewer_token(client, shop, "alice")
    first = set_secret(client, shop)
    second = set_secret(client, shop)
    assert first != second
    one, two = (created(buy(client, alice, product_id=product["id"])) for _ in range(2))
    assert notify(client, shop, first, one).json()["state"] == "paid"
    set_secret(client, shop)
    assert error_code(notify(client, shop, first, two)) == "commerce.payment_signature_invalid"
    assert notify(client, shop, second, two).json()["state"] == "paid"


def test_the_simulated_provider_confirms_after_its_delay(
    client: TestClient, shop: ShopKeys, event_log: EventLog
) -> None:
    with payments_of(client, SimulatedPayments(delay_seconds=0.05)):
        order = created(
            buy(client, viewer_token(client, shop, "alice"), product_id=make_product(client, shop)["id"])
        )
        assert order["payment"]["notice"] == "SIMULATED — no money moves"
        event_log.wait(lambda evs: any(e.type == "order.paid" for e in evs))
    detail = client.get(f"/api/v1/orders/{order['id']}", headers=shop.headers()).json()
    assert (detail["state"], detail["payment"]["state"]) == ("paid", "succeeded")
    assert detail["payment"]["simulated"] is True
    assert detail["payment"]["notice"] == "SIMULATED — no money moves"


def test_a_simulated_failure_cancels(client: TestClient, shop: ShopKeys, event_log: EventLog) -> None:
    with payments_of(client, SimulatedPayments(delay_seconds=0.0, outcome=PaymentOutcome.FAILED)):
        order = created(
            buy(client, viewer_token(client, shop, "alice"), product_id=make_product(client, shop)["id"])
        )
        event_log.wait(lambda evs: any(e.type == "order.cancelled" for e in evs))
    assert order_state(client, shop, order["id"]) == "cancelled"
