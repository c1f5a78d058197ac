"""The app shell: health, readiness, metrics, error bodies for bad input."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from liveloop import bootstrap
from liveloop.settings import Settings
from liveloop.shops import Role
from liveloop.web.app import create_app
from tests.conftest import ShopKeys


def test_health_ready_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok"}
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/products" in spec["paths"]


def test_metrics_count_requests_by_route_template(client: TestClient, shop: ShopKeys) -> None:
    client.get("/api/v1/products/12345", headers=shop.headers())
    text = client.get("/metrics").text
    assert 'route="/api/v1/products/{product_id}"' in text
    assert 'status="404"' in text
    assert "liveloop_http_request_duration_seconds_bucket" in text
    assert "liveloop_realtime_comments_dropped" in text  # the operators' view of sampling


def test_every_routes_metric_label_is_its_full_template(client: TestClient, shop: ShopKeys) -> None:
    """Routers included into others once lost their prefix in the label (``/orders``)."""
    viewer = client.post("/api/v1/viewer-tokens", json={"user_id": "u1"}, headers=shop.headers()).json()
    for path, headers in [
        ("/api/v1/orders", shop.headers()),
        ("/api/v1/flash-sales/12345", shop.headers()),
        ("/api/v1/coupon-templates", shop.headers()),
        ("/api/v1/buyer/orders/12345", {"Authorization": f"Bearer {viewer['token']}"}),
        ("/api/v1/products/12345", shop.headers()),
    ]:
        client.get(path, headers=headers)
    registry = client.app.state.registry  # type: ignore[attr-defined]
    labels = {
        sample.labels["route"]
        for metric in registry.collect()
        for sample in metric.samples
        if sample.name == "liveloop_http_requests_total"
    }
    api_paths = set(client.get("/openapi.json").json()["paths"])
    assert {"/api/v1/orders", "/api/v1/coupon-templates", "/api/v1/buyer/orders/{order_id}"} <= labels
    assert {label for label in labels if label.startswith("/api/")} <= api_paths
    assert all(label.startswith("/") or label == "unmatched" for label in labels), labels


def test_readiness_fails_when_database_is_gone(client: TestClient) -> None:
    async def broken() -> None:
        raise ConnectionError("database down")

    from liveloop.core.container import HealthCheck

    container = client.app.state.container  # type: ignore[attr-defined]
    client.app.state.container = type(container)(  # type: ignore[attr-defined]
        settings=container.settings,
        db=container.db,
        counters=container.counters,
        broker=container.broker,
        events=container.events,
        checks=(HealthCheck("database", broken),),
    )
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "failed: ConnectionError"
    client.app.state.container = container  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b"{not json", {"content-type": "application/json"}, 400, "request.malformed_json"),
        (b'{"name": "x", "extra": 1}', {"content-type": "application/json"}, 422, "request.validation_error"),
        (b'{"name": 7}', {"content-type": "application/json"}, 422, "request.validation_error"),
        (b'{"name": ""}', {"content-type": "application/json"}, 422, "request.validation_error"),
        (b"[]", {"content-type": "application/json"}, 422, "request.validation_error"),
    ],
)
def test_bad_bodies_get_stable_errors_and_write_nothing(
    client: TestClient, shop: ShopKeys, body: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    response = client.post("/api/v1/rooms", content=body, headers=headers | shop.headers())
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert client.get("/api/v1/rooms", headers=shop.headers()).json()["items"] == []


def test_oversized_bodies_are_refused(client: TestClient, shop: ShopKeys) -> None:
    big = b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    response = client.post(
        "/api/v1/rooms", content=big, headers=shop.headers() | {"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request.body_too_large"

    def chunks() -> object:
        for _ in range(20):
            yield b"x" * 65536

    streamed = client.post("/api/v1/rooms", content=chunks(), headers=shop.headers())  # type: ignore[arg-type]
    assert streamed.status_code == 413
    assert client.get("/api/v1/rooms", headers=shop.headers()).json()["items"] == []


def test_unknown_routes_and_methods(client: TestClient, shop: ShopKeys) -> None:
    missing = client.get("/api/v1/nothing-here", headers=shop.headers())
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    wrong = client.put("/api/v1/products", headers=shop.headers(Role.OWNER))
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (405, "request.method_not_allowed")
    bad_id = client.get("/api/v1/products/abc", headers=shop.headers())
    assert bad_id.status_code == 422
    huge_id = client.get(f"/api/v1/products/{2**70}", headers=shop.headers())
    assert huge_id.status_code == 422


def test_server_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, auto_migrate=False)
    with pytest.raises(bootstrap.NotMigrated, match="liveloop migrate"), TestClient(create_app(settings)):
        pass


def test_embedded_setup_migrates_itself(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "fresh")
    assert settings.should_auto_migrate
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").status_code == 200
    assert (tmp_path / "fresh" / "liveloop.db").exists()
    db = asyncio.run(bootstrap.prepare_database(Settings(data_dir=tmp_path / "fresh", auto_migrate=False)))
    asyncio.run(db.dispose())
