"""``liveloop review SHOW``: JSON, CSV and HTML from the database and the event store (or a server)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import datetime
from pathlib import Path

import httpx2
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from liveloop import bootstrap
from liveloop.cli import app
from liveloop.settings import Settings
from liveloop.shops import do_create_shop
from liveloop.web.app import create_app
from tests.analytics.review_support import Script
from tests.analytics.test_review_api import make_show, record
from tests.backends import duckdb_held
from tests.conftest import ShopKeys, created, make_shop, run_async
from tests.servers import running_server

runner = CliRunner()


def env_for(settings: Settings) -> dict[str, str]:
    return {"LIVELOOP_DATA_DIR": str(settings.data_dir), "LIVELOOP_DATABASE_URL": settings.database_url or ""}


def seed(client: TestClient, shop: ShopKeys) -> int:
    """An ended show with two viewers, a comment and a paid order; returns its id."""
    show = make_show(client, shop)
    started = datetime.fromisoformat(show["started_at"].replace("Z", "+00:00"))
    s = Script(started, shop_id=shop.shop_id, room_id=show["room_id"], show_id=show["id"])
    a, b = f"u:{uuid.uuid4().hex[:8]}", f"u:{uuid.uuid4().hex[:8]}"
    s.enter(0.001, a, "recommend")
    s.enter(0.002, b, "search")
    s.at(0.003, "comment.posted", a, text="好看")
    s.order(0.004, "order.paid", a, 1, 77, 12300, provider="sim")
    record(client, s)
    assert client.post(f"/api/v1/shows/{show['id']}/end", headers=shop.headers()).status_code == 200
    return int(show["id"])


@pytest.fixture
def seeded(settings: Settings) -> tuple[Settings, int]:
    with TestClient(create_app(settings)) as client:
        show_id = seed(client, make_shop(client, "星光美妆"))
    return settings, show_id  # the app is closed: the CLI may open the DuckDB file


def test_json_csv_and_html(seeded: tuple[Settings, int], tmp_path: Path) -> None:
    settings, show_id = seeded
    env = env_for(settings)
    result = runner.invoke(app, ["review", str(show_id), "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    review = json.loads(result.stdout)
    assert (review["show_id"], review["totals"]["uv"], review["totals"]["gmv_cents"]) == (show_id, 2, 12300)

    result = runner.invoke(app, ["review", str(show_id), "--format", "csv"], env=env)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["section", "id", "field", "value"]
    table = {(r[0], r[1], r[2]): r[3] for r in rows[1:]}
    assert table["totals", "", "uv"] == "2"
    assert table["totals", "", "gpm.base"] == "pv"
    assert table["show", "", "status"] == "ended"
    assert table["minutes", "0", "comments"] == "1"
    assert table["funnel", "paid_uv", "viewers"] == "1"

    out = tmp_path / "review.html"
    result = runner.invoke(app, ["review", str(show_id), "--output", str(out)], env=env)
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html
    assert "直播复盘" in html
    assert "观看人数" in html
    assert "<style>" in html
    assert "<script" not in html
    assert "/static/" not in html
    result = runner.invoke(app, ["review", str(show_id), "--lang", "en", "--timezone", "UTC"], env=env)
    assert result.exit_code == 0, result.output
    assert "Post-live review" in result.stdout
    assert "Viewers (UV)" in result.stdout


def test_unknown_show_and_store_in_use(seeded: tuple[Settings, int]) -> None:
    settings, show_id = seeded
    result = runner.invoke(app, ["review", "999999", "--format", "json"], env=env_for(settings))
    assert result.exit_code == 1
    assert "show 999999 not found" in result.output
    if settings.database_url:  # PostgreSQL: the event store is shared, never locked
        return
    path = settings.event_store_path  # another process (a running server) holds the DuckDB file
    with duckdb_held(path):
        result = runner.invoke(app, ["review", str(show_id), "--format", "json"], env=env_for(settings))
    assert result.exit_code == 1
    assert "--url" in result.output


def test_url_asks_a_running_server(tmp_path: Path, sqlite_template: Path) -> None:
    data_dir = tmp_path / "served"
    data_dir.mkdir()
    (data_dir / "liveloop.db").write_bytes(sqlite_template.read_bytes())

    async def owner_key() -> str:
        db = await bootstrap.prepare_database(Settings(data_dir=data_dir, database_url=None))
        try:
            return (await do_create_shop(db, name="星光美妆", timezone="Asia/Shanghai")).api_key
        finally:
            await db.dispose()

    key = run_async(owner_key)
    with (
        running_server(data_dir) as server,
        httpx2.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=10) as http,
    ):
        room = created(http.post("/api/v1/rooms", json={"name": "r"}))
        body = {"room_id": room["id"], "title": "远程复盘", "planned_start": "2026-12-01T12:00:00Z",
                "planned_end": "2026-12-01T13:00:00Z"}  # fmt: skip
        show = created(http.post("/api/v1/shows", json=body))
        assert http.post(f"/api/v1/shows/{show['id']}/start").status_code == 200
        url = server.url
        result = runner.invoke(
            app, ["review", str(show["id"]), "--url", url, "--key", key, "--format", "json"]
        )
        assert result.exit_code == 0, result.output
        review = json.loads(result.stdout)
        assert (review["show"]["title"], review["status"], review["partial"]) == ("远程复盘", "live", True)
        result = runner.invoke(app, ["review", str(show["id"]), "--url", url, "--key", "llk_bad_key"])
        assert result.exit_code == 1
        assert "HTTP 401" in result.output
