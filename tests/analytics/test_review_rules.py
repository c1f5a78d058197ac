"""The suggestion rules one by one, on a review whose figures each test sets; and their zh-CN texts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from liveloop.adapters.duckdb import DuckDBEventStore
from liveloop.analytics import review_rules
from liveloop.analytics.review import compute_review, top_decile_cut
from liveloop.analytics.review_history import percentile_rank
from liveloop.analytics.review_models import (
    CouponOutcome,
    FlashSaleOutcome,
    HistoryFigure,
    ProductRow,
    Review,
    Suggestion,
    ratio,
)
from liveloop.analytics.review_queries import Segment
from liveloop.rooms import ShowState, ShowWindow
from liveloop.web.review_i18n import STRINGS
from liveloop.web.review_render import suggestion_text
from tests.conftest import run_async

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def blank(tmp_path_factory: pytest.TempPathFactory) -> Review:
    """The review of a ten-minute show without events: every rule is silent on it."""

    async def make() -> Review:
        store = DuckDBEventStore(Path(tmp_path_factory.mktemp("rules")) / "events.duckdb")
        await store.open()
        try:
            show = ShowWindow(3, 1, 2, "t", ShowState.ENDED, T0, T0 + timedelta(minutes=10))
            return await compute_review(store, show, as_of=T0 + timedelta(hours=1))
        finally:
            await store.close()

    return run_async(make)


def with_totals(review: Review, **changes: Any) -> Review:
    return review.model_copy(update={"totals": review.totals.model_copy(update=changes)})


def codes(review: Review, segments: list[Segment] | None = None) -> list[str]:
    return [s.code for s in review_rules.suggest(review, segments or [])]


def test_a_blank_show_gets_no_suggestion(blank: Review) -> None:
    assert codes(blank) == []


def test_quick_exits(blank: Review) -> None:
    assert codes(with_totals(blank, quick_exit_rate=ratio(12, 20, "sessions"))) == ["review.quick_exit_high"]
    assert codes(with_totals(blank, quick_exit_rate=ratio(7, 20, "sessions"))) == []  # 35 %
    assert codes(with_totals(blank, quick_exit_rate=ratio(9, 10, "sessions"))) == []  # too few sessions


def test_low_interaction_and_unpaid_orders_and_few_returning(blank: Review) -> None:
    review = with_totals(
        blank, uv=100, interaction_rate=ratio(10, 100, "uv"), order_to_paid=ratio(5, 10, "order_uv")
    )
    assert codes(review) == ["review.low_interaction", "review.unpaid_orders"]
    audience = blank.audience.model_copy(update={"returning_share": ratio(10, 200, "uv")})
    assert codes(blank.model_copy(update={"audience": audience})) == ["review.few_returning"]


def test_low_ctr_products(blank: Review) -> None:
    def product(pid: int, exposed: int, clicked: int) -> ProductRow:
        return ProductRow(
            product_id=pid, exposure_uv=exposed, click_uv=clicked, order_uv=0, paid_uv=0, paid_orders=0,
            gmv_cents=0, ctr=ratio(clicked, exposed, "exposure_uv"),
            click_to_paid=ratio(0, clicked, "click_uv"),
            explaining=False, explained_seconds=0.0, explained_pv=0, product_gpm=ratio(0, 0, "pv"),
        )  # fmt: skip

    products = [product(1, 100, 30), product(2, 100, 20), product(3, 100, 5), product(4, 10, 0)]
    found = review_rules.suggest(blank.model_copy(update={"products": products}), [])
    # median CTR of the judged products (>= 50 exposed) is 20 %; product 3 is under half of it
    assert [(s.code, s.figures["product_id"]) for s in found] == [("review.low_ctr_product", 3)]
    assert found[0].figures["median_ctr"] == pytest.approx(0.2)


def test_lineup_against_history(blank: Review) -> None:
    history = blank.history.model_copy(
        update={"compared_shows": 4, "gpm": HistoryFigure(value=900.0, percentile=75.0, median=500.0)}
    )
    review = with_totals(blank.model_copy(update={"history": history}), gpm=ratio(9, 10, "pv", per=1000))
    segments = [Segment(7, T0, T0 + timedelta(minutes=1)), Segment(None, T0, T0), Segment(9, T0, T0)]
    (found,) = review_rules.suggest(review, segments)
    assert (found.code, found.figures["lineup"]) == ("review.repeat_lineup", "7 > 9")
    low = with_totals(blank.model_copy(update={"history": history}), gpm=ratio(1, 10, "pv", per=1000))
    assert codes(low) == ["review.rework_lineup"]


def test_flash_sale_at_the_peak(blank: Review) -> None:
    minutes = [
        m.model_copy(update={"max_ccu": c}) for m, c in zip(blank.minutes, [10, 50, 100, 40], strict=False)
    ]
    minutes += blank.minutes[len(minutes) :]
    sale = FlashSaleOutcome(
        sale_id=1, product_id=9, price_cents=1, stock=1, started_minute=3, sold=1, paid_orders=0,
        paid_units=0,
        gmv_cents=0, sell_through=1.0,
    )  # fmt: skip
    activities = blank.activities.model_copy(update={"flash_sales": [sale]})
    review = with_totals(blank.model_copy(update={"minutes": minutes, "activities": activities}), pcu=100)
    (found,) = review_rules.suggest(review, [])
    assert (found.code, found.figures["peak_minute"], found.figures["sale_ccu"]) == (
        "review.flash_sale_at_peak",
        2,
        40,
    )
    at_peak = activities.model_copy(update={"flash_sales": [sale.model_copy(update={"started_minute": 2})]})
    assert codes(with_totals(review.model_copy(update={"activities": at_peak}), pcu=100)) == []


def test_coupon_roi(blank: Review) -> None:
    coupon = CouponOutcome(
        template_id=3, name="满100减20", kind="threshold", drops=1, dropped=100, claimed=50, redeemed=10,
        cost_cents=20000, redeemed_gmv_cents=40000, roi=2.0,
    )  # fmt: skip
    activities = blank.activities.model_copy(update={"coupons": [coupon]})
    assert codes(blank.model_copy(update={"activities": activities})) == ["review.coupon_low_roi"]


def test_percentiles_and_deciles() -> None:
    assert percentile_rank(5, [1, 5, 9, 10]) == 37.5  # one below, one equal (half), of four
    assert percentile_rank(None, [1]) is None
    assert percentile_rank(3, []) is None
    assert top_decile_cut([None, 0.0, 1.0, 3.0, 2.0]) == 3.0
    assert top_decile_cut([float(i) for i in range(1, 21)]) == 19.0  # the top 2 of 20
    assert top_decile_cut([None, 0.0]) is None


def test_every_rule_has_a_chinese_text_that_formats() -> None:
    zh, en = STRINGS["zh-CN"], STRINGS["en"]
    assert {k for k in zh if not k.startswith("s:")} == set(en)
    figures: dict[str, dict[str, Any]] = {
        "review.low_ctr_product": {"product_id": 3, "ctr": 0.05, "median_ctr": 0.2, "exposure_uv": 100,
                                   "click_uv": 5},
        "review.quick_exit_high": {"quick_exit_rate": 0.6, "quick_exits": 12, "sessions": 20},
        "review.repeat_lineup": {"gpm": 900.0, "median_gpm": 500.0, "compared_shows": 4, "lineup": "7 > 9"},
        "review.rework_lineup": {"gpm": 100.0, "median_gpm": 500.0, "compared_shows": 4,
                                 "best_product_id": 7},
        "review.flash_sale_at_peak": {"sale_id": 1, "sale_minute": 3, "sale_ccu": 40, "peak_minute": 2,
                                      "peak_ccu": 100},
        "review.low_interaction": {"interaction_rate": 0.1, "interacting_uv": 10, "uv": 100},
        "review.unpaid_orders": {"order_to_paid": 0.5, "paid_uv": 5, "order_uv": 10},
        "review.reuse_hot_segment": {"product_id": 7, "minutes": 2, "first_minute": 0},
        "review.coupon_low_roi": {"template_id": 3, "roi": 2.0, "cost_cents": 20000,
                                  "redeemed_gmv_cents": 40000},
        "review.few_returning": {"returning_share": 0.05, "returning_uv": 10, "uv": 200},
    }  # fmt: skip
    assert {k[2:] for k in zh if k.startswith("s:")} == set(figures)
    for code, values in figures.items():
        text = suggestion_text(Suggestion(code=code, message="english", figures=values), zh)
        assert text != "english", code
        assert "{" not in text, code
    coupon = Suggestion(code="review.coupon_low_roi", message="m", figures=figures["review.coupon_low_roi"])
    assert "200.00" in suggestion_text(coupon, zh)  # cost in yuan
    assert suggestion_text(Suggestion(code="review.unknown", message="as is", figures={}), zh) == "as is"
