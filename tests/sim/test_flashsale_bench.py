"""`liveloop bench flash-sale` end to end with tiny numbers: a real server, a real buyers process."""

from __future__ import annotations

import json
from typing import Any

import pytest

from liveloop.sim.flashsale import REPORT_PREFIX, FlashSaleOptions, render, report_line, run_flash_sale
from liveloop.sim.flashsale_buyers import classify
from liveloop.sim.flashsale_floor import parse_floor_line, redis_port
from liveloop.sim.flashsale_seed import request_order
from liveloop.sim.flashsale_sockets import classify_answer

pytestmark = pytest.mark.slow


def test_a_small_sale_sells_exactly_its_units_and_holds_the_limit() -> None:
    options = FlashSaleOptions(
        buyers=200,
        units=10,
        limit=1,
        greedy=0.25,  # 50 buyers send a second order at once: the limit is raced
        connections=50,
        grabs=1_000,
        write_grabs=40,
        use_case_grabs=200,
        grab_workers=64,
        floor=False,
    )
    report = run_flash_sale(options, log=lambda _line: None)

    assert report["ok"] is True
    run = report["backends"]["embedded"]
    http, db = run["http"], run["http"]["db"]
    assert db["sold"] == db["allocated"] == db["orders"] == 10
    assert db["buyers_over_limit"] == 0
    assert db["max_units_per_buyer"] == 1
    assert http["requests"] == http["answered"] == 250
    assert http["created"]["count"] == 10
    assert http["created"]["count"] + http["sold_out"]["count"] + http["over_limit"]["count"] == 250
    assert http["errors"] == {}
    assert http["max_units_seen_per_buyer"] == 1
    for kind in ("created", "sold_out"):
        lat = http[kind]["latency_ms"]
        assert 0 < lat["p50"] <= lat["p99"] <= lat["max"]
    assert http["requests_per_s"] > 0
    assert http["server_cpu_s"] > 0

    # The same sale over the room sockets: a fresh server and store, every buyer in the room.
    ws, ws_db = run["ws"], run["ws"]["db"]
    assert ws["connections"] == 200  # one socket per buyer
    assert ws_db["sold"] == ws_db["allocated"] == ws_db["orders"] == 10
    assert ws_db["buyers_over_limit"] == 0
    assert ws["requests"] == ws["answered"] == 250
    assert ws["created"]["count"] == 10
    assert ws["created"]["count"] + ws["sold_out"]["count"] + ws["over_limit"]["count"] == 250
    assert ws["errors"] == {}
    assert ws["requests_per_s"] > 0
    assert ws["server_cpu_s"] > 0
    assert set(report["checks"]["embedded"]) >= {
        "sold_equals_units",
        "nobody_over_limit",
        "answers_match_db",
        "every_request_answered",
        "no_errors",
        "in_process_sold_ok",
        "ws_sold_equals_units",
        "ws_nobody_over_limit",
        "ws_answers_match_db",
        "ws_every_request_answered",
        "ws_no_errors",
    }
    assert all(report["checks"]["embedded"].values())

    grabs = run["in_process"]
    assert grabs["sale"]["outcomes"] == {"created": 10, "sold_out": 990}
    assert grabs["write"]["outcomes"] == {"created": 40}
    assert grabs["use_case"]["outcomes"] == {"created": 10, "sold_out": 190}
    for mix in ("sale", "write", "use_case"):
        assert grabs[mix]["grabs_per_s"] > 0
        assert grabs[mix]["db"]["sold"] == grabs[mix]["units"]

    assert report["floor"] == {"skipped": "--no-floor"}
    assert report["ratios"]["embedded"]["http_vs_plain_client"] is None
    assert report["ratios"]["embedded"]["ws_vs_plain_client"] is None
    assert set(report["targets"]["embedded"]) == {
        "http_ge_0_35_plain_client",
        "ws_ge_0_35_plain_client",
        "grab_sale_ge_0_8_floor",
        "grab_write_ge_0_8_floor",
    }
    line = report_line(report)
    assert line.startswith(REPORT_PREFIX + " ")
    assert json.loads(line.split(" ", 1)[1])["backends"]["embedded"]["http"]["db"]["sold"] == 10
    assert render(report).row_count > 15


def test_answers_are_classified_by_status_and_error_code() -> None:
    assert classify(201, b"{}") == "created"
    assert classify(409, b'{"error":{"code":"commerce.sold_out","message":"x"}}') == "sold_out"
    assert classify(409, b'{"error":{"code":"commerce.over_limit","message":"x"}}') == "over_limit"
    assert classify(401, b'{"error":{"code":"auth.invalid_viewer_token","message":"x"}}') == (
        "401 auth.invalid_viewer_token"
    )
    assert classify(500, b"Internal Server Error") == "500 -"


def test_socket_answers_are_classified_by_frame_and_error_code() -> None:
    def ack(replayed: bool) -> dict[str, Any]:
        return {
            "type": "ack",
            "ref": "3",
            "offset": None,
            "result": {"order": {"id": 1, "replayed": replayed}},
        }

    assert classify_answer(ack(False)) == "created"
    assert classify_answer(ack(True)) == "replayed"
    assert classify_answer({"type": "error", "code": "commerce.sold_out", "ref": "4"}) == "sold_out"
    assert classify_answer({"type": "error", "code": "commerce.over_limit", "ref": "5"}) == "over_limit"
    assert (
        classify_answer({"type": "error", "code": "protocol.rate_limited"}) == "error protocol.rate_limited"
    )


def test_greedy_buyers_send_limit_plus_one_orders_with_distinct_keys() -> None:
    requests = request_order(100, greedy=0.1, limit=2)
    assert len(requests) == 100 + 10 * 2
    assert len({key for _buyer, key in requests}) == len(requests)
    per_buyer: dict[int, int] = {}
    for buyer, _key in requests:
        per_buyer[buyer] = per_buyer.get(buyer, 0) + 1
    assert sorted(set(per_buyer.values())) == [1, 3]


def test_the_floor_lines_are_parsed() -> None:
    out = (
        "noise\n"
        "redis_lua,stream=0,stock=100,req=1000,users=1000000000,conc=64,pipe=16,secs=0.100,"
        "req_per_s=10000,sold=100,soldout=900,dup=0,remaining=0,invariants_ok=True\n"
    )
    line = parse_floor_line(out, "redis_lua")
    assert line is not None
    assert line["req_per_s"] == 10000
    assert line["secs"] == 0.1
    assert line["invariants_ok"] is True
    assert parse_floor_line(out, "sqlite") is None
    assert redis_port("redis://127.0.0.1:6379/0") == 6379
    assert redis_port("redis://localhost/3") == 6379
    assert redis_port("redis://10.0.0.5:6379/0") is None
    assert redis_port("redis://:secret@127.0.0.1:6379/0") is None
