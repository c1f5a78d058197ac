"""The live alert rules of METRICS.md, as pure functions over a metrics snapshot (no I/O).

A snapshot is the JSON of ``GET /api/v1/shows/{id}/metrics`` (schema in the contracts). What a
snapshot cannot say by itself (what changed over the last N minutes, per product) comes in as a
:class:`ProductWindow` / :class:`FunnelWindow` computed by ``alert_history`` from earlier snapshots.

- **low_ctr_explaining**: while X is explaining, CCU >= max(P75 of this show's per-minute CCU,
  ``ccu_floor``) and X's CTR over the last ``ctr_window_min`` minutes (with >= ``min_exposures``
  exposure UV in it) < ``low_ctr_ratio`` x the median CTR of products explained in this shop over
  30 days (else of products explained in this show so far).
- **traffic_drop**: CCU(t) < ``traffic_drop_ratio`` x CCU(t - ``traffic_window_min``), where
  CCU(t - w) is the last sample of the minute bucket w minutes back and must be >= ``ccu_floor``.
- **conversion_stall**: click-to-paid over the last ``stall_window_min`` minutes (with >=
  ``stall_min_clicks`` click UV in it) < ``stall_ratio`` x the show-to-date click-to-paid.

Each rule answers FIRING (with the alert and the figures that made it fire, thresholds included),
CLEAR (the rule re-arms) or UNKNOWN (too little data: nothing changes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from liveloop.analytics.alert_history import ShowHistory
from liveloop.analytics.alert_model import (
    RULE_SEVERITY,
    Alert,
    CtrBaseline,
    Figure,
    FunnelWindow,
    ProductWindow,
    Rule,
    State,
    Thresholds,
    Verdict,
    median,
    percentile,
)
from liveloop.analytics.alert_text import text_for

__all__ = [
    "conversion_stall",
    "evaluate",
    "low_ctr_explaining",
    "show_ctr_baseline",
    "traffic_drop",
]


def _alert(rule: Rule, figures: dict[str, Figure], at: datetime, product_id: int | None = None) -> Verdict:
    text = text_for(rule, figures)
    alert = Alert(
        rule=rule,
        severity=RULE_SEVERITY[rule],
        product_id=product_id,
        message_zh=text.message_zh,
        message_en=text.message_en,
        figures=figures,
        suggestion_zh=text.suggestion_zh,
        suggestion_en=text.suggestion_en,
        at=at,
    )
    return Verdict(rule, State.FIRING, product_id, alert)


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _ratio_value(ratio: Any) -> float | None:
    return _num(ratio.get("value")) if isinstance(ratio, Mapping) else None


def _ccu(snapshot: Mapping[str, Any]) -> int:
    return int(_num((snapshot.get("totals") or {}).get("ccu")) or 0)


def _minutes(snapshot: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    buckets = [m for m in snapshot.get("minutes") or () if isinstance(m.get("index"), int)]
    return sorted(buckets, key=lambda m: int(m["index"]))


def _round(value: float) -> float:
    return round(value, 4)


def show_ctr_baseline(snapshot: Mapping[str, Any]) -> CtrBaseline | None:
    """The median CTR of the products explained in this show so far (those with a CTR at all)."""
    ctrs = [
        value
        for p in snapshot.get("products") or ()
        if (p.get("explaining") or (_num(p.get("explained_seconds")) or 0) > 0)
        and (value := _ratio_value(p.get("ctr"))) is not None
    ]
    return CtrBaseline(value=median(ctrs), source="show", products=len(ctrs)) if ctrs else None


def low_ctr_explaining(
    snapshot: Mapping[str, Any],
    *,
    window: ProductWindow | None,
    shop_baseline: CtrBaseline | None,
    thresholds: Thresholds,
    at: datetime,
) -> Verdict:
    rule = Rule.LOW_CTR_EXPLAINING
    product = snapshot.get("explaining_product_id")
    if not isinstance(product, int):
        return Verdict(rule, State.CLEAR, None, reason="nothing is being explained")
    ccu = _ccu(snapshot)
    samples = [float(m.get("ccu") or 0) for m in _minutes(snapshot)] or [float(ccu)]
    p75 = percentile(samples, 0.75)
    ccu_threshold = max(p75, float(thresholds.ccu_floor))
    if ccu < ccu_threshold:
        return Verdict(rule, State.CLEAR, product, reason="CCU under its threshold")
    if window is None or window.product_id != product:
        return Verdict(rule, State.UNKNOWN, product, reason="history shorter than the window")
    if window.exposures < thresholds.min_exposures:
        return Verdict(rule, State.UNKNOWN, product, reason="too few exposures in the window")
    baseline = shop_baseline or show_ctr_baseline(snapshot)
    if baseline is None:
        return Verdict(rule, State.UNKNOWN, product, reason="no CTR to compare with")
    ctr = window.clicks / window.exposures
    threshold = thresholds.low_ctr_ratio * baseline.value
    if ctr >= threshold:
        return Verdict(rule, State.CLEAR, product)
    figures: dict[str, Figure] = {
        "product_id": product,
        "ccu": ccu,
        "ccu_p75": _round(p75),
        "ccu_floor": thresholds.ccu_floor,
        "ccu_threshold": _round(ccu_threshold),
        "window_minutes": round(window.minutes, 1),
        "window_exposures": window.exposures,
        "window_clicks": window.clicks,
        "min_exposures": thresholds.min_exposures,
        "ctr": _round(ctr),
        "ctr_baseline": _round(baseline.value),
        "baseline_source": baseline.source,
        "baseline_products": baseline.products,
        "low_ctr_ratio": thresholds.low_ctr_ratio,
        "ctr_threshold": _round(threshold),
    }
    return _alert(rule, figures, at, product)


def traffic_drop(snapshot: Mapping[str, Any], *, thresholds: Thresholds, at: datetime) -> Verdict:
    rule = Rule.TRAFFIC_DROP
    buckets = _minutes(snapshot)
    if not buckets:
        return Verdict(rule, State.UNKNOWN, reason="no minutes yet")
    back = int(buckets[-1]["index"]) - thresholds.traffic_window_min
    before_bucket: Sequence[Mapping[str, Any]] = [m for m in buckets if int(m["index"]) == back]
    if not before_bucket:
        return Verdict(rule, State.UNKNOWN, reason="the show is younger than the window")
    before = int(_num(before_bucket[0].get("ccu")) or 0)
    if before < thresholds.ccu_floor:
        return Verdict(rule, State.UNKNOWN, reason="too few viewers to call a drop")
    ccu = _ccu(snapshot)
    threshold = thresholds.traffic_drop_ratio * before
    if ccu >= threshold:
        return Verdict(rule, State.CLEAR)
    figures: dict[str, Figure] = {
        "ccu": ccu,
        "ccu_before": before,
        "window_minutes": thresholds.traffic_window_min,
        "ccu_floor": thresholds.ccu_floor,
        "traffic_drop_ratio": thresholds.traffic_drop_ratio,
        "ccu_threshold": _round(threshold),
        "ratio": _round(ccu / before),
    }
    return _alert(rule, figures, at)


def conversion_stall(
    snapshot: Mapping[str, Any], *, window: FunnelWindow | None, thresholds: Thresholds, at: datetime
) -> Verdict:
    rule = Rule.CONVERSION_STALL
    if window is None:
        return Verdict(rule, State.UNKNOWN, reason="history shorter than the window")
    if window.clicks < thresholds.stall_min_clicks:
        return Verdict(rule, State.UNKNOWN, reason="too few clicks in the window")
    show = _ratio_value((snapshot.get("totals") or {}).get("click_to_paid"))
    if show is None or show <= 0:
        return Verdict(rule, State.UNKNOWN, reason="no show-to-date conversion to stall from")
    rate = window.paid / window.clicks
    threshold = thresholds.stall_ratio * show
    if rate >= threshold:
        return Verdict(rule, State.CLEAR)
    figures: dict[str, Figure] = {
        "window_minutes": round(window.minutes, 1),
        "window_clicks": window.clicks,
        "window_paid": window.paid,
        "stall_min_clicks": thresholds.stall_min_clicks,
        "click_to_paid_window": _round(rate),
        "click_to_paid_show": _round(show),
        "stall_ratio": thresholds.stall_ratio,
        "click_to_paid_threshold": _round(threshold),
    }
    return _alert(rule, figures, at)


def evaluate(
    snapshot: Mapping[str, Any],
    *,
    history: ShowHistory,
    thresholds: Thresholds,
    shop_baseline: CtrBaseline | None,
    at: datetime,
) -> list[Verdict]:
    """Every rule's verdict on the snapshot just recorded in ``history``; disabled rules are CLEAR."""
    verdicts: list[Verdict] = []
    enabled = thresholds.enabled_rules
    product = snapshot.get("explaining_product_id")
    if Rule.LOW_CTR_EXPLAINING in enabled:
        window = (
            history.product_window(product, timedelta(minutes=thresholds.ctr_window_min))
            if isinstance(product, int)
            else None
        )
        verdicts.append(
            low_ctr_explaining(
                snapshot, window=window, shop_baseline=shop_baseline, thresholds=thresholds, at=at
            )
        )
    else:
        verdicts.append(Verdict(Rule.LOW_CTR_EXPLAINING, State.CLEAR, reason="disabled"))
    if Rule.TRAFFIC_DROP in enabled:
        verdicts.append(traffic_drop(snapshot, thresholds=thresholds, at=at))
    else:
        verdicts.append(Verdict(Rule.TRAFFIC_DROP, State.CLEAR, reason="disabled"))
    if Rule.CONVERSION_STALL in enabled:
        funnel = history.funnel_window(timedelta(minutes=thresholds.stall_window_min))
        verdicts.append(conversion_stall(snapshot, window=funnel, thresholds=thresholds, at=at))
    else:
        verdicts.append(Verdict(Rule.CONVERSION_STALL, State.CLEAR, reason="disabled"))
    return verdicts
