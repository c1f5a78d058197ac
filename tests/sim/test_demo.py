"""`liveloop demo` end to end: a real server, a crowd of persona viewers over real sockets, the
host's whole run sheet, then the console's live figures equal the post-live review's."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from liveloop.cli import app as cli_app
from liveloop.sim.demo import DemoOptions, Http, _server, play
from tests.analytics.test_review_vs_live import differences


def watch_rel(live: dict[str, Any]) -> float:
    """The relative bound on watch-time figures: the live path keeps whole milliseconds at both
    ends of a session, so each session may differ by under 1 ms from the review's exact seconds."""
    totals = live["totals"]
    return max(1e-5, 0.001 * float(totals["sessions"]) / max(float(totals["watch_seconds"]), 1.0))


def test_the_demo_plays_a_show_whose_live_figures_equal_its_review(tmp_path: Path) -> None:
    options = DemoOptions(
        viewers=50,
        minutes=0.4,
        port=0,
        data_dir=tmp_path,
        key_file=tmp_path / "demo-owner-key.txt",
        keep_serving=False,
        seed=11,
    )
    lines: list[str] = []
    with _server(options) as (base_url, key, _):
        result = asyncio.run(play(options, base_url, key, lines.append))
        http = Http(base_url)
        show = result["show_id"]
        # The event store and the live metrics each flush every second (later on a loaded machine):
        # wait until both have everything, i.e. until the totals agree, for at most 30 s.
        deadline = time.monotonic() + 30
        while True:
            time.sleep(1.0)
            status, live = http.request("GET", f"/api/v1/shows/{show}/metrics", None, key)
            assert status == 200, live
            status, review = http.request("GET", f"/api/v1/shows/{show}/review", None, key)
            assert status == 200, review
            if not differences(live["totals"], review["totals"], "totals", rel=watch_rel(live)):
                break
            if time.monotonic() > deadline:
                break

    # Every step of the run sheet ran (none was skipped for a missing feature or a refusal).
    assert not [line for line in lines if "skipped" in line], lines
    for step in ("讲解中", "poll opened", "red packet", "coupon drop", "福袋 drawn", "秒杀"):
        assert any(step in line for line in lines), (step, lines)
    assert result["viewers_joined"] == 50
    assert result["viewers_failed"] == 0
    assert result["orders_placed"] > 0

    totals = live["totals"]
    assert totals["uv"] == totals["pv"] == 50
    assert totals["paid_orders"] > 0
    assert totals["gmv_cents"] > 0
    assert totals["exposure_uv"] >= totals["click_uv"] > 0
    assert totals["comments"] > 0
    assert totals["likes"] > 0
    # The live path (incremental, Counters) and the review (batch SQL over the event store) agree
    # on every figure, with the two documented exceptions of test_review_vs_live.
    assert differences(live["totals"], review["totals"], "totals", rel=watch_rel(live)) == []
    # A segment's seconds: the live path keeps whole milliseconds at each end.
    products = differences(live["products"], review["products"], "products")
    assert [d for d in products if ".explained_seconds:" not in d] == []
    for one_live, one_review in zip(live["products"], review["products"], strict=True):
        assert abs(one_live["explained_seconds"] - one_review["explained_seconds"]) <= 0.002
    assert differences(live["minutes"], review["minutes"], "minutes") == []


def test_the_demo_command_refuses_a_taken_port(tmp_path: Path) -> None:
    with _server(
        DemoOptions(port=0, data_dir=tmp_path, key_file=tmp_path / "demo-owner-key.txt", keep_serving=False)
    ) as (base_url, _, _):
        port = base_url.rsplit(":", 1)[-1]
        done = CliRunner().invoke(
            cli_app, ["demo", "--port", port, "--exit"], env={"LIVELOOP_DATA_DIR": str(tmp_path / "other")}
        )
    assert done.exit_code == 1
    assert "is taken" in done.output
