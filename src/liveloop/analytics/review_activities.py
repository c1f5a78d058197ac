"""Outcomes of the show's live tools, read from its events: polls, lotteries, red packets, flash sales
and coupons (what was offered, who took part, what it brought in and what it cost)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from liveloop.analytics.review_models import (
    Activities,
    CouponOutcome,
    FlashSaleOutcome,
    LotteryOutcome,
    LotteryWinner,
    PollOption,
    PollOutcome,
    RedPacketOutcome,
)
from liveloop.analytics.review_queries import ReviewQueries, num

LotteryStatus = Literal["open", "drawn", "cancelled"]

#: The tools' own events (few per show), in time order; a draw's eligible list is left out (it can
#: hold every viewer): its winners come in a column of their own.
EVENTS = """
SELECT type, "at",
       CAST(CASE WHEN type = 'lottery.drawn' THEN NULL ELSE data END AS VARCHAR),
       data->>'lottery_id', CAST(data->'winners' AS VARCHAR)
FROM events
WHERE {W} AND type = ANY(ARRAY['poll.opened', 'poll.closed', 'lottery.opened', 'lottery.drawn',
                               'lottery.cancelled', 'red_packet.sent', 'red_packet.finished',
                               'flash_sale.started', 'flash_sale.ended', 'coupon.dropped'])
ORDER BY "at", id
"""

#: Participation (many events), parsed once: per tool instance (``option_total`` = 1) the events,
#: cents, cost and distinct participants (summed from one row per participant); per poll option
#: (``option_total`` = 0) the votes.
COUNTS = """
WITH x AS (
    SELECT type, viewer_id, amount_cents,
           CASE type WHEN 'poll.voted' THEN data->>'poll_id'
                     WHEN 'lottery.entered' THEN data->>'lottery_id'
                     WHEN 'red_packet.grabbed' THEN data->>'packet_id'
                     ELSE data->>'template_id' END AS k,
           CASE WHEN type = 'poll.voted' THEN data->>'option' END AS opt,
           CASE WHEN type = 'coupon.redeemed' THEN CAST(data->>'discount_cents' AS BIGINT) END AS cost
    FROM events
    WHERE {W}
      AND type = ANY(ARRAY['poll.voted', 'lottery.entered', 'red_packet.grabbed', 'coupon.claimed',
                           'coupon.redeemed'])
), p AS (
    SELECT type, k, viewer_id, count(*) AS n, sum(amount_cents) AS cents, sum(cost) AS cost
    FROM x GROUP BY 1, 2, 3
)
SELECT type, k, NULL AS opt, 1 AS option_total, sum(n), coalesce(sum(cents), 0), coalesce(sum(cost), 0),
       count(viewer_id)
FROM p GROUP BY 1, 2
UNION ALL
SELECT type, k, opt, 0, count(*), 0, 0, 0 FROM x WHERE type = 'poll.voted' GROUP BY 1, 2, 3
"""

#: GMV of the paid orders that redeemed a coupon, per coupon template (grouped by order, no join).
COUPON_GMV = """
WITH o AS (
    SELECT data->>'order_id' AS o,
           max(CASE WHEN type = 'coupon.redeemed' THEN data->>'template_id' END) AS t,
           coalesce(sum(amount_cents) FILTER (WHERE type = 'order.paid'), 0) AS gmv
    FROM events
    WHERE {W} AND type = ANY(ARRAY['coupon.redeemed', 'order.paid'])
    GROUP BY 1
)
SELECT t, sum(gmv) FROM o WHERE t IS NOT NULL GROUP BY t
"""

#: Paid orders at a flash-sale price, per sale: orders, units, GMV.
FLASH_ORDERS = """
SELECT data->>'flash_sale_id', count(*), coalesce(sum(CAST(data->>'quantity' AS BIGINT)), 0),
       coalesce(sum(amount_cents), 0)
FROM events
WHERE {W} AND type = 'order.paid' AND data->>'flash_sale_id' IS NOT NULL
GROUP BY 1
"""


@dataclass
class _Tallies:
    counts: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    cents: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    cost: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    options: dict[int, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    people: dict[tuple[str, int], int] = field(default_factory=dict)


def _id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


async def _tallies(queries: ReviewQueries) -> _Tallies:
    t = _Tallies()
    for kind, key, opt, option_total, count, cents, cost, people in await queries.rows(COUNTS):
        k = _id(key)
        if k is None:
            continue
        if num(option_total):
            t.counts[kind, k] += num(count)
            t.cents[kind, k] += num(cents)
            t.people[kind, k] = num(people)
            if kind == "coupon.redeemed":
                t.cost[k] += num(cost)
        elif kind == "poll.voted" and (option := _id(opt)) is not None:
            t.options[k][option] = t.options[k].get(option, 0) + num(count)
    return t


async def get_activities(queries: ReviewQueries) -> Activities:
    events = [
        (str(kind), at, orjson.loads(data) if data else {}, lottery_id, winners)
        for kind, at, data, lottery_id, winners in await queries.rows(EVENTS)
    ]
    t = await _tallies(queries)
    coupon_gmv = {k: num(g) for key, g in await queries.rows(COUPON_GMV) if (k := _id(key)) is not None}
    flash = {
        k: (num(n), num(units), num(gmv))
        for key, n, units, gmv in await queries.rows(FLASH_ORDERS)
        if (k := _id(key)) is not None
    }
    return Activities(
        polls=_polls(events, t),
        lotteries=_lotteries(events, t),
        red_packets=_red_packets(events, t),
        flash_sales=_flash_sales(events, flash, queries.start_minute),
        coupons=_coupons(events, t, coupon_gmv),
    )


Row = tuple[str, Any, dict[str, Any], Any, Any]


def _polls(events: list[Row], t: _Tallies) -> list[PollOutcome]:
    opened: dict[int, dict[str, Any]] = {}
    closed: dict[int, dict[str, Any]] = {}
    for kind, _, data, _, _ in events:
        if kind == "poll.opened":
            opened[int(data["poll_id"])] = data
        elif kind == "poll.closed":
            closed[int(data["poll_id"])] = data
    ids = sorted(set(opened) | set(closed) | {k for (kind, k) in t.counts if kind == "poll.voted"})
    out = []
    for poll_id in ids:
        info = closed.get(poll_id) or opened.get(poll_id) or {}
        options = info.get("options") or []
        if poll_id in closed:
            counts = list(closed[poll_id]["result"]["counts"])
        else:
            counts = [t.options[poll_id].get(i, 0) for i in range(len(options))]
        votes = sum(counts) if options else t.counts.get(("poll.voted", poll_id), 0)
        winner = max(range(len(counts)), key=lambda i: (counts[i], -i)) if votes else None
        out.append(
            PollOutcome(
                poll_id=poll_id,
                question=str(info.get("question", "")),
                kind=str(opened.get(poll_id, {}).get("kind", "normal")),
                options=[
                    PollOption(text=str(o.get("text", "")), product_id=o.get("product_id"), votes=c)
                    for o, c in zip(options, counts, strict=False)
                ],
                votes=votes,
                voters=t.people.get(("poll.voted", poll_id), 0),
                winner=winner,
                closed=poll_id in closed,
            )
        )
    return out


def _lotteries(events: list[Row], t: _Tallies) -> list[LotteryOutcome]:
    opened: dict[int, dict[str, Any]] = {}
    status: dict[int, LotteryStatus] = {}
    winners: dict[int, list[LotteryWinner]] = {}
    for kind, _, data, lottery_id, drawn in events:
        if kind == "lottery.opened":
            opened[int(data["lottery_id"])] = data
            status.setdefault(int(data["lottery_id"]), "open")
        elif kind == "lottery.drawn" and _id(lottery_id) is not None:
            k = int(lottery_id)
            status[k] = "drawn"
            winners[k] = [
                LotteryWinner(viewer_id=str(w["viewer_id"]), nickname=str(w.get("nickname", "")))
                for w in (orjson.loads(drawn) if drawn else [])
            ]
        elif kind == "lottery.cancelled":
            status[int(data["lottery_id"])] = "cancelled"
    ids = sorted(set(status) | {k for (kind, k) in t.counts if kind == "lottery.entered"})
    return [
        LotteryOutcome(
            lottery_id=k,
            prize=str(opened.get(k, {}).get("prize", "")),
            winners_count=int(opened.get(k, {}).get("winners_count", len(winners.get(k, [])))),
            entries=t.counts.get(("lottery.entered", k), 0),
            entrants=t.people.get(("lottery.entered", k), 0),
            status=status.get(k, "open"),
            winners=winners.get(k, []),
        )
        for k in ids
    ]


def _red_packets(events: list[Row], t: _Tallies) -> list[RedPacketOutcome]:
    sent: dict[int, dict[str, Any]] = {}
    finished: dict[int, str] = {}
    for kind, _, data, _, _ in events:
        if kind == "red_packet.sent":
            sent[int(data["packet_id"])] = data
        elif kind == "red_packet.finished":
            finished[int(data["packet_id"])] = str(data.get("reason", "finished"))
    ids = sorted(set(sent) | {k for (kind, k) in t.counts if kind == "red_packet.grabbed"})
    return [
        RedPacketOutcome(
            packet_id=k,
            total_cents=int(sent.get(k, {}).get("total_cents", 0)),
            count=int(sent.get(k, {}).get("count", 0)),
            grabbed_count=t.counts.get(("red_packet.grabbed", k), 0),
            grabbed_cents=t.cents.get(("red_packet.grabbed", k), 0),
            grabbers=t.people.get(("red_packet.grabbed", k), 0),
            status=finished.get(k, "open"),
        )
        for k in ids
    ]


def _flash_sales(
    events: list[Row], orders: dict[int, tuple[int, int, int]], start_minute: datetime
) -> list[FlashSaleOutcome]:
    started: dict[int, tuple[datetime, dict[str, Any]]] = {}
    sold: dict[int, int] = {}
    for kind, at, data, _, _ in events:
        if kind == "flash_sale.started":
            started[int(data["sale_id"])] = (at, data)  # the latest one is the sale's window
        elif kind == "flash_sale.ended":
            sold[int(data["sale_id"])] = int(data.get("sold", 0))
    out = []
    for sale_id in sorted(set(started) | set(sold) | set(orders)):
        at, data = started.get(sale_id, (None, {}))
        begin = _when(data.get("starts_at")) or (_aware(at) if at is not None else None)
        minute = math.floor((max(begin, start_minute) - start_minute).total_seconds() / 60) if begin else None
        stock = int(data.get("stock", 0))
        n, units, gmv = orders.get(sale_id, (0, 0, 0))
        units_sold = sold.get(sale_id)
        out.append(
            FlashSaleOutcome(
                sale_id=sale_id,
                product_id=int(data.get("product_id", 0)),
                price_cents=int(data.get("price_cents", 0)),
                stock=stock,
                started_minute=minute,
                sold=units_sold,
                paid_orders=n,
                paid_units=units,
                gmv_cents=gmv,
                sell_through=units_sold / stock if units_sold is not None and stock else None,
            )
        )
    return out


def _coupons(events: list[Row], t: _Tallies, gmv: dict[int, int]) -> list[CouponOutcome]:
    drops: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for kind, _, data, _, _ in events:
        if kind == "coupon.dropped":
            drops[int(data["template_id"])].append(data)
    kinds = ("coupon.claimed", "coupon.redeemed")
    ids = sorted(set(drops) | {k for (kind, k) in t.counts if kind in kinds})
    out = []
    for k in ids:
        cost = t.cost.get(k, 0)
        first = drops[k][0] if drops.get(k) else {}
        out.append(
            CouponOutcome(
                template_id=k,
                name=str(first.get("name", "")),
                kind=str(first.get("kind", "")),
                drops=len(drops.get(k, [])),
                dropped=sum(int(d.get("quantity", 0)) for d in drops.get(k, [])),
                claimed=t.counts.get(("coupon.claimed", k), 0),
                redeemed=t.counts.get(("coupon.redeemed", k), 0),
                cost_cents=cost,
                redeemed_gmv_cents=gmv.get(k, 0),
                roi=gmv.get(k, 0) / cost if cost else None,
            )
        )
    return out


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
