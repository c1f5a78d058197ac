"""The verifiable draw (pure): the algorithm pinned by a known answer, its properties, verification of
proofs (tampering is named), the rules (a purchase is never a condition) and `liveloop lottery verify`."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from liveloop.cli import app
from liveloop.core.errors import LiveloopError
from liveloop.interactions import LotteryProof, LotteryRules, draw_winners, parse_proof, verify_proof
from liveloop.interactions.lottery_draw import ALGORITHM, new_seed, seed_hash, ticket
from liveloop.interactions.lottery_rules import check_rules, keyword_matches

SEED = "00" * 31 + "01"
PEOPLE = ["u:alice", "u:bob", "u:carol", "u:dave", "u:erin"]
seeds = st.binary(min_size=32, max_size=32).map(bytes.hex)
viewer_ids = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12).map(
    lambda s: f"u:{s}"
)


def proof_of(eligible: list[str], winners_count: int, seed: str = SEED) -> LotteryProof:
    ordered = sorted(set(eligible))
    return LotteryProof(
        lottery_id=7,
        seed_hash=seed_hash(seed),
        seed=seed,
        winners_count=winners_count,
        eligible=tuple(ordered),
        winners=tuple(draw_winners(seed, ordered, winners_count)),
    )


def test_known_answer_pins_the_algorithm() -> None:
    assert seed_hash(SEED) == hashlib.sha256(bytes(31) + b"\x01").hexdigest()
    assert seed_hash(SEED) == "ec4916dd28fc4c10d78e287ca5d9cc51ee1ae73cbfde08c6b37324cbfaac8bc5"
    assert draw_winners(SEED, PEOPLE, 2) == ["u:carol", "u:erin"]
    # Recomputed from the documented steps with nothing but the standard library:
    key = bytes.fromhex(SEED)
    by_ticket = sorted(PEOPLE, key=lambda v: hmac.new(key, v.encode(), hashlib.sha256).digest())
    assert by_ticket[:2] == ["u:carol", "u:erin"]
    assert ticket(SEED, "u:carol") == hmac.new(key, b"u:carol", hashlib.sha256).digest()


def test_seeds_are_fresh_hex() -> None:
    a, b = new_seed(), new_seed()
    assert a != b
    assert len(a) == 64
    assert int(a, 16) >= 0
    assert a == a.lower()
    with pytest.raises(ValueError, match="hex"):
        seed_hash("AB" * 32)
    with pytest.raises(ValueError, match="hex"):
        seed_hash("ab")


@settings(deadline=None)
@given(seed=seeds, eligible=st.lists(viewer_ids, max_size=40), k=st.integers(1, 50))
def test_draw_properties(seed: str, eligible: list[str], k: int) -> None:
    winners = draw_winners(seed, eligible, k)
    unique = set(eligible)
    assert len(winners) == min(k, len(unique)) == len(set(winners))
    assert set(winners) <= unique
    # The lowest tickets win, in order; the input order and duplicates change nothing.
    tickets = [ticket(seed, w) for w in winners]
    assert tickets == sorted(tickets)
    losers = unique - set(winners)
    assert all(ticket(seed, w) < ticket(seed, v) for w in winners for v in losers)
    assert draw_winners(seed, list(reversed(eligible)) + eligible, k) == winners


@settings(deadline=None)
@given(seed=seeds, eligible=st.lists(viewer_ids, min_size=1, max_size=30, unique=True), k=st.integers(1, 5))
def test_an_honest_proof_verifies(seed: str, eligible: list[str], k: int) -> None:
    verdict = verify_proof(proof_of(eligible, k, seed))
    assert verdict.ok, verdict.problems


def test_every_tampering_is_named() -> None:
    honest = proof_of(PEOPLE, 2)
    assert verify_proof(honest).ok
    assert honest.winners == ("u:carol", "u:erin")

    other_seed = replace(honest, seed="00" * 31 + "02")
    problems = verify_proof(other_seed).problems
    assert any("seed_hash does not match" in p for p in problems)

    swapped = replace(honest, winners=("u:carol", "u:alice"))
    problems = verify_proof(swapped).problems
    assert "drawn but not published as winners: u:erin" in problems
    assert "published as winners but not drawn: u:alice" in problems

    reordered = replace(honest, winners=("u:erin", "u:carol"))
    assert verify_proof(reordered).problems == ("winners in the wrong order: expected u:carol, u:erin",)

    outsider = replace(honest, winners=("u:carol", "u:mallory"))
    assert "winners not in the eligible list: u:mallory" in verify_proof(outsider).problems

    unsorted = replace(honest, eligible=tuple(reversed(honest.eligible)))
    assert verify_proof(unsorted).problems == (
        "the eligible list is not sorted by code point with each id once",
    )

    # Dropping an eligible viewer changes who should have won: the published winners no longer match.
    shrunk = replace(honest, eligible=tuple(v for v in honest.eligible if v != "u:erin"))
    assert not verify_proof(shrunk).ok

    assert not verify_proof(replace(honest, algorithm="coin-flip")).ok
    assert not verify_proof(replace(honest, seed="zz")).ok


def test_parse_proof_reads_the_api_shape() -> None:
    honest = proof_of(PEOPLE, 2)
    data: dict[str, Any] = {
        "lottery_id": 7,
        "algorithm": ALGORITHM,
        "seed_hash": honest.seed_hash,
        "seed": honest.seed,
        "winners_count": 2,
        "eligible": list(honest.eligible),
        "winners": [{"viewer_id": w, "nickname": w[2:]} for w in honest.winners],
    }
    assert parse_proof(data) == honest
    assert parse_proof(data | {"winners": list(honest.winners)}) == honest
    for broken in ({}, data | {"eligible": "u:alice"}, data | {"seed": None}, data | {"winners": [1]}):
        with pytest.raises(ValueError, match=r"proof|list|drawn"):
            parse_proof(broken)


# -- rules ---------------------------------------------------------------------------------------


def refused(rules: list[dict[str, Any]]) -> str:
    with pytest.raises(LiveloopError) as caught:
        check_rules(rules)
    return caught.value.code


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "purchase"},
        {"kind": "Purchase"},
        {"kind": "min_order_cents", "value": 100},
        {"kind": "paid-order"},
        {"kind": "spend"},
        {"kind": "buy_product", "product_id": 3},
        {"kind": "下单"},
        {"kind": "watch_time", "minutes": 5, "min_spend_cents": 100},
        {"kind": "follow", "order_count": 1},
    ],
)
def test_a_purchase_is_never_a_condition(rule: dict[str, Any]) -> None:
    with pytest.raises(LiveloopError) as caught:
        check_rules([{"kind": "follow"}, rule] if rule["kind"] != "follow" else [rule])
    assert (caught.value.code, caught.value.status) == ("interactions.purchase_condition_forbidden", 422)
    assert "illegal" in caught.value.message


def test_rules_are_a_small_typed_list() -> None:
    rules = check_rules(
        [{"kind": "keyword", "keyword": " 想要 "}, {"kind": "follow"}, {"kind": "watch_time", "minutes": 5}]
    )
    assert rules == LotteryRules(keyword="想要", require_follow=True, min_watch_minutes=5)
    assert rules.as_list() == [
        {"kind": "keyword", "keyword": "想要"},
        {"kind": "follow"},
        {"kind": "watch_time", "minutes": 5},
    ]
    assert check_rules([]) == LotteryRules()
    assert refused([{"kind": "lucky"}]) == "interactions.invalid_lottery_rule"
    assert refused([{"kind": "member_tier", "tier": "gold"}]) == "interactions.lottery_rule_unsupported"
    assert refused([{"kind": "follow"}, {"kind": "follow"}]) == "interactions.invalid_lottery_rule"
    assert refused([{"kind": "keyword", "keyword": "!!!"}]) == "interactions.invalid_lottery_rule"
    assert refused([{"kind": "keyword", "keyword": "x" * 21}]) == "interactions.invalid_lottery_rule"
    assert refused([{"kind": "watch_time", "minutes": 0}]) == "interactions.invalid_lottery_rule"
    assert refused([{"kind": "watch_time", "minutes": True}]) == "interactions.invalid_lottery_rule"
    assert refused([{"kind": "follow", "keyword": "x"}]) == "interactions.invalid_lottery_rule"
    assert refused([{"minutes": 3}]) == "interactions.invalid_lottery_rule"


def test_keywords_match_like_sensitive_words() -> None:
    assert keyword_matches("想要", "主播我 想 要！！")
    assert keyword_matches("666", "６６６６")
    assert keyword_matches("Want", "i WANT it")
    assert not keyword_matches("想要", "不要")


# -- the command line ----------------------------------------------------------------------------

runner = CliRunner()


def proof_json(proof: LotteryProof) -> dict[str, Any]:
    return {
        "lottery_id": proof.lottery_id,
        "algorithm": proof.algorithm,
        "seed_hash": proof.seed_hash,
        "seed": proof.seed,
        "winners_count": proof.winners_count,
        "eligible": list(proof.eligible),
        "winners": [{"viewer_id": w, "nickname": "n"} for w in proof.winners],
    }


def test_cli_verifies_a_proof_file(tmp_path: Path) -> None:
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof_json(proof_of(PEOPLE, 2))))
    ok = runner.invoke(app, ["lottery", "verify", str(path)])
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("OK: lottery 7")

    path.write_text(json.dumps(proof_json(replace(proof_of(PEOPLE, 2), winners=("u:carol", "u:bob")))))
    bad = runner.invoke(app, ["lottery", "verify", str(path)])
    assert bad.exit_code == 1
    assert "FAILED" in bad.output
    assert "published as winners but not drawn: u:bob" in bad.output

    path.write_text("{}")
    assert runner.invoke(app, ["lottery", "verify", str(path)]).exit_code == 2
    assert runner.invoke(app, ["lottery", "verify"]).exit_code == 2
    assert runner.invoke(app, ["lottery", "verify", "--url", "file:///etc/passwd"]).exit_code == 2


@pytest.fixture
def proof_server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server answering the proof, recording the Authorization headers it saw."""
    body = json.dumps(proof_json(proof_of(PEOPLE, 3))).encode()
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/api/v1/lotteries/7/proof", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_cli_fetches_a_proof(proof_server: tuple[str, list[str]]) -> None:
    url, seen = proof_server
    result = runner.invoke(app, ["lottery", "verify", "--url", url, "--key", "llk_test"])
    assert result.exit_code == 0, result.output
    assert "3 winner(s)" in result.output
    assert seen == ["Bearer llk_test"]
