"""Build the metrics schema (docs/contracts) from what Counters hold for a show: pure, no I/O.

:func:`distinct_names` says which distinct sets to count, given the show's sums; :func:`build_metrics`
turns the sums, the explain segments and those counts into the schema. Definitions: METRICS.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from liveloop.analytics.live_keys import DISTINCT, MINUTE_DISTINCT, NO_PRODUCT, PRODUCT_DISTINCT
from liveloop.analytics.live_state import MINUTE_MS, epoch_ms
from liveloop.rooms import ShowState, ShowWindow

__all__ = ["build_metrics", "distinct_names", "iso", "ratio"]

_LIVE_SUMS = ("open", "open_ms", "watch_ms")


def iso(at: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, as the API writes datetimes."""
    if at is None:
        return None
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def ratio(numerator: float, denominator: float, base: str, *, per: float = 1.0) -> dict[str, Any]:
    """A rate with its parts; ``value`` is None when the denominator is 0 (``per`` 1000 for GPM/OPM)."""
    value = numerator / denominator * per if denominator else None
    return {"value": value, "numerator": numerator, "denominator": denominator, "base": base}


def _products(sums: Mapping[str, int], explain: Mapping[str, int]) -> list[int]:
    found = {value for value in explain.values() if value != NO_PRODUCT}
    for name in sums:
        if name[0] == "p" and ":" in name:
            head = name[1 : name.index(":")]
            if head.isdigit():
                found.add(int(head))
    return sorted(found)


def _sources(sums: Mapping[str, int]) -> list[str]:
    return sorted(name[4:] for name in sums if name.startswith("src:"))


def _minute_count(window: ShowWindow, now: datetime) -> int:
    if window.started_at is None:
        return 0
    end = _end(window, now)
    base = epoch_ms(window.started_at) // MINUTE_MS
    return max(epoch_ms(end) // MINUTE_MS - base, 0) + 1


def _end(window: ShowWindow, now: datetime) -> datetime:
    """Where the show's window stops: its end, or now while it runs."""
    assert window.started_at is not None
    end = window.ended_at if window.ended_at is not None else now
    return max(end, window.started_at)


def distinct_names(
    window: ShowWindow,
    now: datetime,
    sums: Mapping[str, int],
    explain: Mapping[str, int],
    *,
    minutes: bool = True,
) -> list[str]:
    """The distinct sets :func:`build_metrics` needs counted, for these sums."""
    names = list(DISTINCT)
    names += [f"src:{source}" for source in _sources(sums)]
    names += [f"p{pid}:{kind}" for pid in _products(sums, explain) for kind in PRODUCT_DISTINCT]
    if minutes:
        names += [f"m{i}:{kind}" for i in range(_minute_count(window, now)) for kind in MINUTE_DISTINCT]
    return names


def _segments(window: ShowWindow, end_ms: int, explain: Mapping[str, int]) -> list[tuple[int, int, int]]:
    """Explain segments clipped to the show: (start ms, end ms, product id), oldest first."""
    assert window.started_at is not None
    start = epoch_ms(window.started_at)
    points = sorted((int(at), product) for at, product in explain.items())
    found = []
    for i, (at, product) in enumerate(points):
        stop = points[i + 1][0] if i + 1 < len(points) else end_ms
        lo, hi = max(at, start), min(stop, end_ms)
        if product != NO_PRODUCT and hi > lo:
            found.append((lo, hi, product))
    return found


def build_metrics(
    window: ShowWindow,
    *,
    now: datetime,
    sums: Mapping[str, int],
    explain: Mapping[str, int],
    distinct: Mapping[str, int],
    minutes: bool = True,
) -> dict[str, Any]:
    """The show's metrics schema. ``distinct`` maps the names of :func:`distinct_names` to counts."""
    live = window.state is ShowState.LIVE
    started = window.started_at
    s = {name: sums.get(name, 0) for name in ("pv", *_LIVE_SUMS)}
    if started is not None:
        end = _end(window, now)
        duration_ms = epoch_ms(end) - epoch_ms(started)
        points = sorted((int(at), product) for at, product in explain.items())
        segments = _segments(window, epoch_ms(end), explain)
    else:
        duration_ms, points, segments = 0, [], []
    # Open sessions: each has watched ``t - entry``; their sum is ``open * t - open_ms`` (no scan).
    open_ms = s["open"] * duration_ms - s["open_ms"] if s["open"] > 0 else 0
    watch_seconds = (s["watch_ms"] + max(open_ms, 0)) / 1000
    duration = duration_ms / 1000
    explaining = points[-1][1] if live and points and points[-1][1] != NO_PRODUCT else None
    minute_rows = _minutes(window, now, sums, distinct, segments) if started is not None else []
    totals = _totals(sums, distinct, watch_seconds=watch_seconds, duration=duration, live=live)
    totals["pcu"] = max([sums.get("pcu", 0), totals["ccu"], *(m["max_ccu"] for m in minute_rows)])
    return {
        "show_id": window.show_id,
        "status": window.state.value,
        "as_of": iso(now),
        "started_at": iso(started),
        "ended_at": iso(window.ended_at),
        "duration_seconds": duration,
        "totals": totals,
        "explaining_product_id": explaining,
        "products": _product_rows(sums, explain, distinct, segments, explaining),
        "minutes": minute_rows if minutes else [],
    }


def _totals(
    sums: Mapping[str, int], distinct: Mapping[str, int], *, watch_seconds: float, duration: float, live: bool
) -> dict[str, Any]:
    g = sums.get
    uv, pv = distinct.get("uv", 0), g("pv", 0)
    sessions, quick = g("sessions", 0), g("quick_exits", 0)
    comments, follows = g("comments", 0), g("follows", 0)
    exposure_uv, click_uv = distinct.get("exposure", 0), distinct.get("click", 0)
    order_uv, paid_uv = distinct.get("order", 0), distinct.get("paid", 0)
    paid_orders, gmv, refunds = g("paid_orders", 0), g("gmv_cents", 0), g("refund_cents", 0)
    commenting, liking, sharing = (
        distinct.get("commenting", 0),
        distinct.get("liking", 0),
        distinct.get("sharing", 0),
    )
    interacting = distinct.get("interacting", 0)
    return {
        "uv": uv,
        "pv": pv,
        "ccu": max(g("open", 0), 0) if live else 0,
        "pcu": 0,  # set by the caller: it needs the minutes
        "acu": ratio(watch_seconds, duration, "duration_seconds"),
        "watch_seconds": watch_seconds,
        "avg_watch_seconds": ratio(watch_seconds, uv, "uv"),
        "effective_views": sessions - quick,
        "sessions": sessions,
        "quick_exit_rate": ratio(quick, sessions, "sessions"),
        "sources": {source: distinct.get(f"src:{source}", 0) for source in _sources(sums)},
        "comments": comments,
        "likes": g("likes", 0),
        "shares": g("shares", 0),
        "follows": follows,
        "votes": g("votes", 0),
        "questions": g("questions", 0),
        "commenting_uv": commenting,
        "liking_uv": liking,
        "sharing_uv": sharing,
        "interacting_uv": interacting,
        "comment_rate": ratio(commenting, uv, "uv"),
        "like_rate": ratio(liking, uv, "uv"),
        "share_rate": ratio(sharing, uv, "uv"),
        "follow_rate": ratio(follows, uv, "uv"),
        "comments_per_viewer": ratio(comments, uv, "uv"),
        "interaction_rate": ratio(interacting, uv, "uv"),
        "exposure_uv": exposure_uv,
        "click_uv": click_uv,
        "order_uv": order_uv,
        "paid_uv": paid_uv,
        "orders": g("orders", 0),
        "paid_orders": paid_orders,
        "gmv_cents": gmv,
        "refund_cents": refunds,
        "net_gmv_cents": gmv - refunds,
        "coupon_cost_cents": g("coupon_cost_cents", 0),
        "exposure_rate": ratio(exposure_uv, uv, "uv"),
        "ctr": ratio(click_uv, exposure_uv, "exposure_uv"),
        "click_to_order": ratio(order_uv, click_uv, "click_uv"),
        "order_to_paid": ratio(paid_uv, order_uv, "order_uv"),
        "click_to_paid": ratio(paid_uv, click_uv, "click_uv"),
        "view_to_paid": ratio(paid_uv, uv, "uv"),
        "gpm": ratio(gmv, pv, "pv", per=1000),
        "opm": ratio(paid_orders, pv, "pv", per=1000),
        "uv_value": ratio(gmv, uv, "uv"),
        "aov_per_order": ratio(gmv, paid_orders, "paid_orders"),
        "aov_per_buyer": ratio(gmv, paid_uv, "paid_uv"),
    }


def _product_rows(
    sums: Mapping[str, int],
    explain: Mapping[str, int],
    distinct: Mapping[str, int],
    segments: list[tuple[int, int, int]],
    explaining: int | None,
) -> list[dict[str, Any]]:
    explained_ms: dict[int, int] = {}
    for lo, hi, product in segments:
        explained_ms[product] = explained_ms.get(product, 0) + hi - lo
    rows: list[dict[str, Any]] = []
    for pid in _products(sums, explain):
        exposure_uv, click_uv = distinct.get(f"p{pid}:exposure", 0), distinct.get(f"p{pid}:click", 0)
        order_uv, paid_uv = distinct.get(f"p{pid}:order", 0), distinct.get(f"p{pid}:paid", 0)
        gmv, explained_pv = sums.get(f"p{pid}:gmv_cents", 0), sums.get(f"p{pid}:explained_pv", 0)
        rows.append(
            {
                "product_id": pid,
                "exposure_uv": exposure_uv,
                "click_uv": click_uv,
                "order_uv": order_uv,
                "paid_uv": paid_uv,
                "paid_orders": sums.get(f"p{pid}:paid_orders", 0),
                "gmv_cents": gmv,
                "ctr": ratio(click_uv, exposure_uv, "exposure_uv"),
                "click_to_paid": ratio(paid_uv, click_uv, "click_uv"),
                "explaining": pid == explaining,
                "explained_seconds": explained_ms.get(pid, 0) / 1000,
                "explained_pv": explained_pv,
                "product_gpm": ratio(gmv, explained_pv, "explained_pv", per=1000),
            }
        )
    rows.sort(key=lambda row: (-row["gmv_cents"], row["product_id"]))
    return rows


def _minutes(
    window: ShowWindow,
    now: datetime,
    sums: Mapping[str, int],
    distinct: Mapping[str, int],
    segments: list[tuple[int, int, int]],
) -> list[dict[str, Any]]:
    assert window.started_at is not None
    base = epoch_ms(window.started_at) // MINUTE_MS * MINUTE_MS
    base_at = datetime.fromtimestamp(base / 1000, UTC)
    count = _minute_count(window, now)
    explained = _explained_by_minute(segments, base, count)
    rows: list[dict[str, Any]] = []
    ccu = 0
    for i in range(count):
        prefix = f"m{i}:"

        def g(name: str, prefix: str = prefix) -> int:
            return sums.get(prefix + name, 0)

        before = ccu
        # A minute's CCU is its last value: every entry minus every leave so far (exact, not sampled);
        # its maximum also takes the samples flushed during the minute.
        ccu = before + g("entries") - g("leaves")
        shown = max(ccu, 0)
        comments, shares, votes, likes = g("comments"), g("shares"), g("votes"), g("likes")
        rows.append(
            {
                "minute": iso(base_at + timedelta(minutes=i)),
                "index": i,
                "ccu": shown,
                "max_ccu": max(g("max_ccu"), before, ccu, 0),
                "entries": g("entries"),
                "leaves": g("leaves"),
                "comments": comments,
                "likes": likes,
                "shares": shares,
                "votes": votes,
                "follows": g("follows"),
                "intensity": (comments + shares + votes + likes / 10) / shown if shown else None,
                "exposure_uv": distinct.get(f"m{i}:exposure", 0),
                "click_uv": distinct.get(f"m{i}:click", 0),
                "orders": g("orders"),
                "paid_orders": g("paid_orders"),
                "gmv_cents": g("gmv_cents"),
                "explaining_product_id": explained.get(i),
            }
        )
    return rows


def _explained_by_minute(segments: list[tuple[int, int, int]], base: int, count: int) -> dict[int, int]:
    """Per minute index, the product explained longest in it (ties: the later one)."""
    spent: dict[int, dict[int, int]] = {}
    for lo, hi, product in segments:
        first, last = (lo - base) // MINUTE_MS, (hi - 1 - base) // MINUTE_MS
        for i in range(max(first, 0), min(last, count - 1) + 1):
            start = max(lo, base + i * MINUTE_MS)
            stop = min(hi, base + (i + 1) * MINUTE_MS)
            per = spent.setdefault(i, {})
            per[product] = per.get(product, 0) + stop - start
    return {
        i: max(per.items(), key=lambda kv: (kv[1], list(per).index(kv[0])))[0] for i, per in spent.items()
    }
