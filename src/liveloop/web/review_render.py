"""The review as an HTML page (Jinja2, ``templates/review.html``): zh-CN by default, or English.

Two forms of the same page: ``standalone`` (what ``liveloop review --format html`` writes: one file
with its CSS inline and its charts as inline SVG, nothing fetched) and the console form (served at
``/console/shows/{id}/review``: CSS and scripts from ``/static``, and when ECharts is vendored
(``static/vendor/echarts.min.js``) ``static/review.js`` redraws the charts with it). Every figure
is also in a table, so the page degrades to tables without charts.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from liveloop import __version__
from liveloop.analytics.live_schema import Ratio
from liveloop.analytics.review_models import Review, Suggestion
from liveloop.web.review_i18n import review_strings
from liveloop.web.templating import templates

CHART_WIDTH, CHART_HEIGHT = 960, 220
FUNNEL_WIDTH, FUNNEL_LABEL = 480, 150


@functools.cache
def _static(name: str) -> str:
    return resources.files("liveloop.web").joinpath("static", name).read_text(encoding="utf-8")


def echarts_vendored() -> bool:
    """True when the console helper's vendored ECharts is in the package."""
    return resources.files("liveloop.web").joinpath("static", "vendor", "echarts.min.js").is_file()


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class Formats:
    """Figures as the page shows them (money in yuan from integer cents, rates in per cent)."""

    def __init__(self, lang: str, zone: ZoneInfo) -> None:
        self.lang, self.zone = lang, zone

    def num(self, value: float | None) -> str:
        if value is None:
            return "—"
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"

    def money(self, cents: float | None) -> str:
        return "—" if cents is None else f"¥{cents / 100:,.2f}"

    def pct(self, ratio: Ratio | float | None) -> str:
        value = ratio.value if isinstance(ratio, Ratio) else ratio
        return "—" if value is None else f"{value * 100:.1f}%"

    def money_ratio(self, ratio: Ratio) -> str:
        return self.money(ratio.value)

    def num_ratio(self, ratio: Ratio) -> str:
        return "—" if ratio.value is None else f"{ratio.value:,.2f}"

    def duration(self, seconds: float | None) -> str:
        if seconds is None:
            return "—"
        total = round(seconds)
        h, rest = divmod(total, 3600)
        m, s = divmod(rest, 60)
        if self.lang == "en":
            return f"{h}h {m}m" if h else f"{m}m {s}s" if m else f"{s}s"
        return f"{h}小时{m}分" if h else f"{m}分{s}秒" if m else f"{s}秒"

    def time(self, value: datetime | None) -> str:
        return "—" if value is None else value.astimezone(self.zone).strftime("%H:%M")

    def datetime(self, value: datetime | None) -> str:
        return "—" if value is None else value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def base(self, ratio: Ratio) -> str:
        return f"{self.num(ratio.numerator)} / {self.num(ratio.denominator)} ({ratio.base})"


def suggestion_text(s: Suggestion, strings: Mapping[str, str]) -> str:
    """The suggestion in the page's language, from its code and figures (else the English message)."""
    template = strings.get(f"s:{s.code}")
    if template is None:
        return s.message
    figures: dict[str, Any] = dict(s.figures)
    for name, value in s.figures.items():
        if isinstance(value, int | float) and (name.endswith(("_cents", "gpm"))):
            figures[f"{name}_yuan"] = value / 100
    try:
        return template.format(**figures)
    except (KeyError, ValueError, TypeError, IndexError):
        return s.message


def _polyline(values: Sequence[float | None], top: float) -> str:
    """SVG points of ``values`` spread across the chart (None: skipped)."""
    n = max(len(values) - 1, 1)
    top = top or 1.0
    points = []
    for i, v in enumerate(values):
        if v is None:
            continue
        x = i * CHART_WIDTH / n
        y = CHART_HEIGHT - 8 - (v / top) * (CHART_HEIGHT - 24)
        points.append(f"{x:.1f},{y:.1f}")
    return " ".join(points)


def _charts(review: Review) -> dict[str, Any]:
    minutes = review.minutes
    ccu = [float(m.max_ccu) for m in minutes]
    intensity = [m.intensity for m in minutes]
    top_intensity = max((v for v in intensity if v is not None), default=0.0)
    width = CHART_WIDTH / max(len(minutes), 1)
    bars = []
    for i, (m, v) in enumerate(zip(minutes, intensity, strict=True)):
        h = round((v or 0) / (top_intensity or 1) * (CHART_HEIGHT - 24), 1)
        bars.append(
            {
                "x": round(i * width, 1),
                "y": round(CHART_HEIGHT - 8 - h, 1),
                "w": round(max(width - 1, 1), 1),
                "h": h,
                "hot": m.high_interaction,
                "label": f"{m.index}",
            }
        )
    retention = [p.share.value for p in review.retention]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "ccu_points": _polyline(ccu, max(ccu, default=0.0)),
        "ccu_top": max(ccu, default=0.0),
        "bars": bars,
        "retention_points": _polyline(retention, 1.0),
        "funnel_width": FUNNEL_WIDTH,
        "funnel_label": FUNNEL_LABEL,
        "funnel": [
            {"step": s, "w": round((s.from_uv.value or 0) * (FUNNEL_WIDTH - FUNNEL_LABEL - 70), 1)}
            for s in review.funnel
        ],
    }


def _chart_data(review: Review) -> str:
    """What ``review.js`` draws with ECharts (JSON in a data block, not a script)."""
    data = {
        "minutes": [
            [m.index, m.ccu, m.max_ccu, m.intensity, m.high_interaction, m.explaining_product_id]
            for m in review.minutes
        ],
        "retention": [[p.minute, p.share.value] for p in review.retention],
    }
    return orjson.dumps(data).decode().replace("</", "<\\/")


def render_review_html(
    review: Review,
    lang: str = "zh-CN",
    *,
    timezone: str = "Asia/Shanghai",
    standalone: bool = True,
    language_link: str | None = None,
    console_link: str | None = None,
) -> str:
    """The review page. ``standalone``: one self-contained file (inline CSS and SVG, no scripts)."""
    strings = review_strings(lang)
    zone = _zone(timezone)
    fmt = Formats(lang, zone)
    t: Callable[..., str] = lambda key, **kw: strings[key].format(**kw) if kw else strings[key]  # noqa: E731
    return (
        templates()
        .get_template("review.html")
        .render(
            r=review,
            lang=lang,
            t=t,
            s=strings,
            f=fmt,
            tz=str(zone),
            charts=_charts(review),
            chart_data=_chart_data(review),
            suggestions=[suggestion_text(x, strings) for x in review.suggestions],
            products_by_id={p.product_id: p for p in review.products},
            standalone=standalone,
            css=_static("review.css") if standalone else "",
            echarts=not standalone and echarts_vendored(),
            language_link=language_link,
            console_link=console_link,
            version=__version__,
            isfinite=math.isfinite,
        )
    )
