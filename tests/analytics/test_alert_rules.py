"""The alert rules on hand-built snapshots: fire, not just under the threshold, minimum volume, windows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from liveloop.analytics.alert_history import ShowHistory
from liveloop.analytics.alert_model import (
    CtrBaseline,
    FunnelWindow,
    ProductWindow,
    Rule,
    Severity,
    State,
    Thresholds,
    percentile,
)
from liveloop.analytics.alerts import (
    conversion_stall,
    evaluate,
    low_ctr_explaining,
    show_ctr_baseline,
    traffic_drop,
)
from tests.analytics.alert_snapshots import START, Show

T = Thresholds()
AT = START + timedelta(minutes=4, seconds=30)
SHOP_CTR = CtrBaseline(value=0.10, source="shop_30d", products=12)


def busy_show(ccu: int = 500) -> Show:
    """Minutes 0..3 at 100, 200, 300, 400 and ``ccu`` now (minute 4): P75 of [100..400, ccu]."""
    show = Show(ccu=ccu, minute_ccu=[100, 200, 300, 400], explaining=7)
    show.product(7).explained_seconds = 120
    return show


def window(exposures: int, clicks: int, product_id: int = 7) -> ProductWindow:
    return ProductWindow(product_id=product_id, minutes=5.0, exposures=exposures, clicks=clicks)


# -- low CTR on the product being explained ------------------------------------------------------


def test_low_ctr_fires_with_the_figures_and_thresholds() -> None:
    snap = busy_show(500).snapshot(AT)
    verdict = low_ctr_explaining(snap, window=window(400, 8), shop_baseline=SHOP_CTR, thresholds=T, at=AT)
    assert (verdict.state, verdict.rule, verdict.product_id) == (State.FIRING, Rule.LOW_CTR_EXPLAINING, 7)
    alert = verdict.alert
    assert alert is not None
    assert alert.severity is Severity.WARNING
    assert alert.at == AT
    # P75 of [100, 200, 300, 400, 500] = 400 (linear), above the floor of 100.
    assert alert.figures == {
        "product_id": 7,
        "ccu": 500,
        "ccu_p75": 400.0,
        "ccu_floor": 100,
        "ccu_threshold": 400.0,
        "window_minutes": 5.0,
        "window_exposures": 400,
        "window_clicks": 8,
        "min_exposures": 200,
        "ctr": 0.02,
        "ctr_baseline": 0.1,
        "baseline_source": "shop_30d",
        "baseline_products": 12,
        "low_ctr_ratio": 0.5,
        "ctr_threshold": 0.05,
    }
    assert "#7" in alert.message_zh
    assert "2.0%" in alert.message_zh
    assert "5.0%" in alert.message_zh
    assert "#7" in alert.message_en
    assert "400" in alert.message_en
    assert "优惠券" in alert.suggestion_zh
    assert "coupon" in alert.suggestion_en
    payload = alert.payload()
    assert payload["rule"] == "low_ctr_explaining"
    assert payload["at"] == AT.isoformat()


def test_low_ctr_needs_the_ctr_strictly_under_half_the_baseline() -> None:
    snap = busy_show().snapshot(AT)
    at_threshold = low_ctr_explaining(
        snap, window=window(400, 20), shop_baseline=SHOP_CTR, thresholds=T, at=AT
    )
    assert at_threshold.state is State.CLEAR  # 20/400 = 5% is not < 0.5 x 10%
    just_under = low_ctr_explaining(snap, window=window(400, 19), shop_baseline=SHOP_CTR, thresholds=T, at=AT)
    assert just_under.state is State.FIRING


def test_low_ctr_needs_ccu_at_the_p75_of_the_show() -> None:
    # ccu 390: the samples are [100, 200, 300, 400, 390], P75 = 390, so 390 fires and 389 cannot
    # (with 389 the P75 is 389 too: use the floor to make the comparison visible instead).
    snap = busy_show(390).snapshot(AT)
    assert low_ctr_explaining(
        snap, window=window(400, 8), shop_baseline=SHOP_CTR, thresholds=T, at=AT
    ).state is (State.FIRING)
    high_floor = Thresholds(ccu_floor=391)
    verdict = low_ctr_explaining(
        snap, window=window(400, 8), shop_baseline=SHOP_CTR, thresholds=high_floor, at=AT
    )
    assert verdict.state is State.CLEAR
    assert verdict.product_id == 7


def test_low_ctr_is_quiet_below_the_busy_part_of_the_show() -> None:
    show = busy_show(250)  # P75 of [100, 200, 300, 400, 250] = 300 > 250
    snap = show.snapshot(AT)
    verdict = low_ctr_explaining(snap, window=window(400, 8), shop_baseline=SHOP_CTR, thresholds=T, at=AT)
    assert verdict.state is State.CLEAR


def test_low_ctr_needs_the_minimum_exposures_in_the_window() -> None:
    snap = busy_show().snapshot(AT)
    short = low_ctr_explaining(snap, window=window(199, 1), shop_baseline=SHOP_CTR, thresholds=T, at=AT)
    assert short.state is State.UNKNOWN
    assert short.product_id == 7
    enough = low_ctr_explaining(snap, window=window(200, 1), shop_baseline=SHOP_CTR, thresholds=T, at=AT)
    assert enough.state is State.FIRING
    unknown_history = low_ctr_explaining(snap, window=None, shop_baseline=SHOP_CTR, thresholds=T, at=AT)
    assert unknown_history.state is State.UNKNOWN


def test_low_ctr_without_shop_history_compares_with_this_shows_explained_products() -> None:
    show = busy_show()
    show.product(7).exposure_uv, show.product(7).click_uv = 1000, 250  # 25%
    show.product(8).exposure_uv, show.product(8).click_uv = 1000, 125  # 12.5%, explained earlier
    show.product(8).explained_seconds = 300
    show.product(9).exposure_uv, show.product(9).click_uv = 1000, 900  # never explained: not counted
    snap = show.snapshot(AT)
    baseline = show_ctr_baseline(snap)
    assert baseline == CtrBaseline(value=0.1875, source="show", products=2)
    # 0.5 x 18.75% = 9.375%: 29/320 fires, 30/320 = 9.375% does not.
    fires = low_ctr_explaining(snap, window=window(320, 29), shop_baseline=None, thresholds=T, at=AT)
    assert fires.state is State.FIRING
    assert fires.alert is not None
    assert fires.alert.figures["baseline_source"] == "show"
    assert low_ctr_explaining(
        snap, window=window(320, 30), shop_baseline=None, thresholds=T, at=AT
    ).state is (State.CLEAR)


def test_low_ctr_with_nothing_to_compare_or_nothing_explained() -> None:
    show = busy_show()
    snap = show.snapshot(AT)  # product 7 has no exposures yet: no CTR in the show to compare with
    assert low_ctr_explaining(snap, window=window(400, 1), shop_baseline=None, thresholds=T, at=AT).state is (
        State.UNKNOWN
    )
    show.explaining = None
    verdict = low_ctr_explaining(show.snapshot(AT), window=None, shop_baseline=SHOP_CTR, thresholds=T, at=AT)
    assert (verdict.state, verdict.product_id) == (State.CLEAR, None)


# -- traffic drop --------------------------------------------------------------------------------


def drop_show(now: int, before: int = 1000) -> Show:
    return Show(ccu=now, minute_ccu=[before, 950, 900, 800, 750])


def test_traffic_drop_fires_under_70_percent_of_five_minutes_ago() -> None:
    at = START + timedelta(minutes=5, seconds=20)  # minute 5; five minutes back is minute 0 (1000)
    verdict = traffic_drop(drop_show(699).snapshot(at), thresholds=T, at=at)
    assert verdict.state is State.FIRING
    assert verdict.alert is not None
    assert verdict.alert.severity is Severity.CRITICAL
    assert verdict.alert.figures == {
        "ccu": 699,
        "ccu_before": 1000,
        "window_minutes": 5,
        "ccu_floor": 100,
        "traffic_drop_ratio": 0.7,
        "ccu_threshold": 700.0,
        "ratio": 0.699,
    }
    assert "699" in verdict.alert.message_zh
    assert "1000" in verdict.alert.message_en
    assert traffic_drop(drop_show(700).snapshot(at), thresholds=T, at=at).state is State.CLEAR


def test_traffic_drop_needs_five_minutes_of_show_and_an_audience_to_drop_from() -> None:
    young = Show(ccu=10, minute_ccu=[1000, 900, 800, 700])
    at = START + timedelta(minutes=4, seconds=59)
    assert traffic_drop(young.snapshot(at), thresholds=T, at=at).state is State.UNKNOWN
    at = START + timedelta(minutes=5, seconds=1)
    assert traffic_drop(drop_show(60, before=99).snapshot(at), thresholds=T, at=at).state is State.UNKNOWN
    assert traffic_drop(drop_show(60, before=100).snapshot(at), thresholds=T, at=at).state is State.FIRING


def test_traffic_window_is_per_room() -> None:
    at = START + timedelta(minutes=5, seconds=20)
    show = drop_show(700)  # minute 0 had 1000, minute 3 had 800
    two_min = Thresholds(traffic_window_min=2, traffic_drop_ratio=0.9)
    assert traffic_drop(show.snapshot(at), thresholds=T, at=at).state is State.CLEAR  # 700 >= 0.7 x 1000
    verdict = traffic_drop(show.snapshot(at), thresholds=two_min, at=at)  # 700 < 0.9 x 800 (minute 3)
    assert verdict.state is State.FIRING
    assert verdict.alert is not None
    assert verdict.alert.figures["ccu_before"] == 800
    assert verdict.alert.figures["window_minutes"] == 2


# -- conversion stall ----------------------------------------------------------------------------


def stall_show() -> Show:
    show = Show(ccu=300, minute_ccu=[300] * 12)
    show.click_uv, show.paid_uv = 1000, 100  # show to date: 10%
    return show


def test_conversion_stall_fires_under_half_the_show_to_date_rate() -> None:
    at = START + timedelta(minutes=12)
    snap = stall_show().snapshot(at)
    verdict = conversion_stall(
        snap, window=FunnelWindow(minutes=10.0, clicks=100, paid=4), thresholds=T, at=at
    )
    assert verdict.state is State.FIRING
    assert verdict.alert is not None
    assert verdict.alert.figures == {
        "window_minutes": 10.0,
        "window_clicks": 100,
        "window_paid": 4,
        "stall_min_clicks": 50,
        "click_to_paid_window": 0.04,
        "click_to_paid_show": 0.1,
        "stall_ratio": 0.5,
        "click_to_paid_threshold": 0.05,
    }
    assert "4/100" in verdict.alert.message_zh
    at_threshold = conversion_stall(snap, window=FunnelWindow(10.0, 100, 5), thresholds=T, at=at)
    assert at_threshold.state is State.CLEAR


def test_conversion_stall_needs_fifty_clicks_in_the_window() -> None:
    at = START + timedelta(minutes=12)
    snap = stall_show().snapshot(at)
    assert (
        conversion_stall(snap, window=FunnelWindow(10.0, 49, 0), thresholds=T, at=at).state is State.UNKNOWN
    )
    assert conversion_stall(snap, window=FunnelWindow(10.0, 50, 0), thresholds=T, at=at).state is State.FIRING
    assert conversion_stall(snap, window=None, thresholds=T, at=at).state is State.UNKNOWN


def test_conversion_stall_needs_a_show_rate_to_stall_from() -> None:
    show = stall_show()
    show.paid_uv = 0
    at = START + timedelta(minutes=12)
    verdict = conversion_stall(show.snapshot(at), window=FunnelWindow(10.0, 100, 0), thresholds=T, at=at)
    assert verdict.state is State.UNKNOWN


# -- windows from the history of snapshots -------------------------------------------------------


def test_windows_are_differences_of_cumulative_counts_between_snapshots() -> None:
    show = Show(started_at=START - timedelta(minutes=30), ccu=500, explaining=7)
    history = ShowHistory(started_at=show.started_at)
    keep = timedelta(minutes=10)
    for step in range(61):  # one snapshot every 10 s for 10 minutes
        show.product(7).exposure_uv = 30 * step
        show.product(7).click_uv = step
        show.click_uv, show.paid_uv = 10 * step, step
        history.record(show.snapshot(START + timedelta(seconds=10 * step)), keep=keep)
    five = history.product_window(7, timedelta(minutes=5))
    assert five == ProductWindow(product_id=7, minutes=5.0, exposures=900, clicks=30)
    ten = history.funnel_window(timedelta(minutes=10))
    assert ten == FunnelWindow(minutes=10.0, clicks=600, paid=60)
    # Pruned to what the longest window needs: the base of the 10-minute window and what follows.
    assert len(history) == 61
    history.record(show.snapshot(START + timedelta(seconds=610)), keep=keep)
    assert len(history) == 61


def test_window_is_unknown_until_the_engine_watched_long_enough_unless_the_show_is_younger() -> None:
    # Joined mid-show (the show started 30 min ago): 4 minutes of history cannot give 5.
    old = Show(started_at=START - timedelta(minutes=30), ccu=500, explaining=7)
    history = ShowHistory(started_at=old.started_at)
    history.record(old.snapshot(START), keep=timedelta(minutes=10))
    old.product(7).exposure_uv = 100
    history.record(old.snapshot(START + timedelta(minutes=4)), keep=timedelta(minutes=10))
    assert history.product_window(7, timedelta(minutes=5)) is None
    # A show 3 minutes old: the window starts at the show's start, when every count was zero.
    young = Show(started_at=START, ccu=500, explaining=7)
    young.product(7).exposure_uv, young.product(7).click_uv = 250, 5
    history = ShowHistory(started_at=START)
    history.record(young.snapshot(START + timedelta(minutes=3)), keep=timedelta(minutes=10))
    assert history.product_window(7, timedelta(minutes=5)) == ProductWindow(7, 3.0, 250, 5)


def test_evaluate_reports_every_rule_and_clears_disabled_ones() -> None:
    show = busy_show()
    history = ShowHistory(started_at=START)
    snap = show.snapshot(AT)
    history.record(snap, keep=timedelta(minutes=10))
    verdicts = evaluate(snap, history=history, thresholds=T, shop_baseline=SHOP_CTR, at=AT)
    assert [v.rule for v in verdicts] == list(Rule)
    off = Thresholds(enabled_rules=frozenset())
    assert {v.state for v in evaluate(snap, history=history, thresholds=off, shop_baseline=None, at=AT)} == {
        State.CLEAR
    }


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([1, 2, 3, 4], 0.75) == 3.25
    assert percentile([5], 0.75) == 5
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)
