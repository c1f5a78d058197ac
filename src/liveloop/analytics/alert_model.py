"""Live alert values: the rules, their per-room thresholds, an alert, a rule's verdict (pure, no I/O)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

__all__ = [
    "RULE_SEVERITY",
    "Alert",
    "CtrBaseline",
    "Figure",
    "FunnelWindow",
    "ProductWindow",
    "Rule",
    "Severity",
    "State",
    "Thresholds",
    "Verdict",
    "median",
    "percentile",
]


class Rule(StrEnum):
    LOW_CTR_EXPLAINING = "low_ctr_explaining"
    TRAFFIC_DROP = "traffic_drop"
    CONVERSION_STALL = "conversion_stall"


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


RULE_SEVERITY: Mapping[Rule, Severity] = {
    Rule.LOW_CTR_EXPLAINING: Severity.WARNING,
    Rule.TRAFFIC_DROP: Severity.CRITICAL,  # viewers leaving now cost every later sale
    Rule.CONVERSION_STALL: Severity.WARNING,
}


@dataclass(frozen=True, slots=True)
class Thresholds:
    """One room's alert settings; a room without stored settings uses these defaults (METRICS.md)."""

    enabled_rules: frozenset[Rule] = frozenset(Rule)
    #: Low CTR needs CCU >= max(P75 of the show's CCU, ccu_floor); a traffic drop needs the CCU it
    #: dropped from to be >= ccu_floor (a drop from a handful of viewers is noise, not news).
    ccu_floor: int = 100
    low_ctr_ratio: float = 0.5
    min_exposures: int = 200
    ctr_window_min: int = 5
    traffic_drop_ratio: float = 0.7
    traffic_window_min: int = 5
    stall_ratio: float = 0.5
    stall_min_clicks: int = 50
    stall_window_min: int = 10
    baseline_days: int = 30

    @property
    def longest_window_min(self) -> int:
        return max(self.ctr_window_min, self.traffic_window_min, self.stall_window_min)


@dataclass(frozen=True, slots=True)
class ProductWindow:
    """One product's exposure and click UV added over a trailing window.

    Computed as the difference of the product's cumulative ``exposure_uv`` / ``click_uv`` between
    two snapshots (see ``alert_history``): viewers first exposed (first clicking) inside the window.
    """

    product_id: int
    minutes: float  # the span the two snapshots really cover
    exposures: int
    clicks: int


@dataclass(frozen=True, slots=True)
class FunnelWindow:
    """The room's click UV and paid UV added over a trailing window (differences of cumulative totals)."""

    minutes: float
    clicks: int
    paid: int


@dataclass(frozen=True, slots=True)
class CtrBaseline:
    """The CTR a product being explained is measured against."""

    value: float
    source: Literal["shop_30d", "show"]  # the shop's explained products over 30 days, or this show's
    products: int  # how many (show, product) CTRs the median is over


Figure = int | float | str | None


@dataclass(frozen=True, slots=True)
class Alert:
    rule: Rule
    severity: Severity
    product_id: int | None
    message_zh: str
    message_en: str
    figures: Mapping[str, Figure]
    suggestion_zh: str
    suggestion_en: str
    at: datetime

    def payload(self) -> dict[str, Any]:
        """The JSON form stored, emitted, sent and shown (the contract of ``AlertEngine.recent``)."""
        return {
            "rule": self.rule.value,
            "severity": self.severity.value,
            "product_id": self.product_id,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "figures": dict(self.figures),
            "suggestion_zh": self.suggestion_zh,
            "suggestion_en": self.suggestion_en,
            "at": self.at.isoformat(),
        }


class State(StrEnum):
    FIRING = "firing"  # the condition holds
    CLEAR = "clear"  # it does not: the rule (for this product) re-arms
    UNKNOWN = "unknown"  # too little data to say (volume under the minimum, history too short)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A rule's answer for one show at one instant; ``alert`` is set exactly when FIRING."""

    rule: Rule
    state: State
    product_id: int | None = None  # the product the verdict is about (low CTR: the one explained)
    alert: Alert | None = None
    reason: str = field(default="", compare=False)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def median(values: Sequence[float]) -> float:
    return percentile(values, 0.5)
