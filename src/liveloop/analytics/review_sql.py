"""The SQL of the post-live review: one statement per figure set, the same text on DuckDB and PostgreSQL.

Every statement runs through :meth:`EventStore.query` (read only, in a transaction that is rolled
back). They keep to the common ground of both engines (``FILTER``, window functions, ``GREATEST``/
``LEAST``, ``data->>'key'``, ``unnest`` of array parameters, ``$n`` placeholders); the one
difference is the type of timestamp parameters (DuckDB stores ``at`` as a UTC ``TIMESTAMP``,
PostgreSQL as ``timestamptz``), which :class:`Dialect` fills in. The metric *definitions* therefore
live here, once, and the snapshot tests run them on both engines.

Scope (see :mod:`liveloop.analytics.review` for the definitions): the statements marked *window*
take ``$1`` show id, ``$2``/``$3`` the first and last ``at`` that count (the show window widened by
the grace), and where they bucket by minute ``$4``/``$5`` the show start and end (times are clamped
into the show, then truncated to the minute). :data:`SESSIONS` works on a table of
show windows passed as arrays, so the same session rules serve the show and the shop's earlier shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from liveloop.core.eventstore import SqlDialect

INTERACTION_TYPES = (
    "comment.posted",
    "like.batched",
    "share.made",
    "poll.voted",
    "question.asked",
    "follow.made",
)


@dataclass(frozen=True, slots=True)
class Dialect:
    name: SqlDialect
    ts: str  # the SQL type of timestamp parameters

    def at(self, value: datetime) -> datetime:
        """A timestamp parameter: naive UTC for DuckDB's ``TIMESTAMP``, aware for ``timestamptz``."""
        utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return utc.replace(tzinfo=None) if self.name == "duckdb" else utc

    def sql(self, template: str) -> str:
        text = template.replace("{SESSIONS}", SESSIONS).replace("{W}", WINDOW).replace("{MINUTE}", MINUTE)
        return text.replace("{TS}", self.ts)


DIALECTS: dict[SqlDialect, Dialect] = {
    "duckdb": Dialect("duckdb", "TIMESTAMP"),
    "postgresql": Dialect("postgresql", "timestamptz"),
}

WINDOW = 'show_id = $1 AND "at" >= $2::{TS} AND "at" <= $3::{TS}'
#: The minute an event counts in: its time clamped into the show ($4 start, $5 end), truncated.
MINUTE = """date_trunc('minute', LEAST(GREATEST("at", $4::{TS}), $5::{TS}))"""
_INTERACTIONS = ", ".join(f"'{t}'" for t in INTERACTION_TYPES)

#: Viewing sessions of the shows in ``w`` ($1 ids, $2 starts, $3 ends, $4 the latest ``at`` read;
#: $5 the grace in seconds, $6 the quick-exit length), per (show, viewer). In scope: entries from
#: start - grace to end + grace; leaves from start - grace whose session (``at - watch_seconds``)
#: began before the end, however late they come. A leave whose session began before start - grace
#: is a viewer who was in the room when the show went live: it counts as an entry too ("early");
#: the other leaves close a session entered in scope ("matched"). Watch seconds: the closed
#: sessions' overlap with the show, capped per viewer at the show length, plus the open sessions
#: (entries less matched leaves) from their entry to the end, which is
#: sum(len - entry) over entries - sum(len - session start) over matched leaves (no pairing needed).
SESSIONS = """
w AS (
    SELECT unnest($1::BIGINT[]) AS sid, unnest($2::{TS}[]) AS s, unnest($3::{TS}[]) AS e,
           unnest($4::{TS}[]) AS lim
), x AS (
    SELECT v.show_id AS sid, v.viewer_id, v.type,
           CAST(extract(epoch FROM (v."at" - w.s)) AS DOUBLE PRECISION) AS rel,
           CAST(extract(epoch FROM (w.e - w.s)) AS DOUBLE PRECISION) AS len,
           CASE WHEN v.type = 'viewer.left'
                THEN CAST(v.data->>'watch_seconds' AS DOUBLE PRECISION) END AS lasted
    FROM events AS v JOIN w ON v.show_id = w.sid
    WHERE v.show_id = ANY($1::BIGINT[]) AND v.type = ANY(ARRAY['viewer.entered', 'viewer.left'])
      AND v.viewer_id IS NOT NULL AND v."at" <= w.lim
), y AS (
    SELECT sid, viewer_id, type, rel, len, lasted, rel - lasted AS began,
           rel - lasted >= -$5::DOUBLE PRECISION AS matched
    FROM x
    WHERE rel >= -$5::DOUBLE PRECISION
      AND CASE WHEN type = 'viewer.entered' THEN rel <= len + $5::DOUBLE PRECISION ELSE rel - lasted < len END
), per AS (
    SELECT sid, viewer_id,
           count(*) FILTER (WHERE type = 'viewer.entered') AS entered,
           count(*) FILTER (WHERE NOT matched) AS early,
           count(*) FILTER (WHERE matched) AS closed,
           count(*) FILTER (WHERE type = 'viewer.left') AS sessions,
           count(*) FILTER (WHERE lasted < $6::DOUBLE PRECISION) AS quick,
           LEAST(coalesce(sum(GREATEST(LEAST(rel, len) - GREATEST(began, 0), 0))
                              FILTER (WHERE type = 'viewer.left'), 0), max(len))
           + coalesce(sum(len - LEAST(GREATEST(rel, 0), len)) FILTER (WHERE type = 'viewer.entered'), 0)
           - coalesce(sum(len - LEAST(GREATEST(began, 0), len)) FILTER (WHERE matched), 0) AS watch
    FROM y GROUP BY sid, viewer_id
)"""

#: Per show and whole minutes of (capped) watch time: viewers, entries (with the early ones), early
#: entries, sessions, quick exits, open sessions and watch seconds. Totals are sums over the buckets,
#: the retention curve their running sums.
VIEWERS = """
WITH {SESSIONS}
SELECT sid, CAST(floor(GREATEST(watch, 0) / 60) AS BIGINT) AS m, count(*) FILTER (WHERE entered + early > 0),
       sum(entered + early), sum(early), sum(sessions), sum(quick), sum(entered - closed), sum(watch)
FROM per GROUP BY 1, 2 ORDER BY 1, 2
"""

#: GMV of the shows in ``w`` (earlier shows, for the ranking): paid orders from start - grace to
#: end + grace ($1..$4 as in SESSIONS, $5 the grace).
SHOWS_GMV = """
WITH w AS (
    SELECT unnest($1::BIGINT[]) AS sid, unnest($2::{TS}[]) AS s, unnest($3::{TS}[]) AS e,
           unnest($4::{TS}[]) AS lim
)
SELECT v.show_id, coalesce(sum(v.amount_cents), 0)
FROM events AS v JOIN w ON v.show_id = w.sid
WHERE v.type = 'order.paid'
  AND CAST(extract(epoch FROM (v."at" - w.s)) AS DOUBLE PRECISION) >= -$5::DOUBLE PRECISION
  AND CAST(extract(epoch FROM (v."at" - w.e)) AS DOUBLE PRECISION) <= $5::DOUBLE PRECISION
GROUP BY 1
"""

#: *window* — concurrent viewers after every instant with entries or leaves (events of the same
#: microsecond apply together): +1 at an entry, -1 at a leave that closes a session begun in scope
#: (session start >= start - grace), so a viewer already in the room at the start never counts. Per
#: minute: the highest value, the change over the minute (the value after it is their running sum),
#: entries and leaves (of sessions that began before the end, ``at - watch_seconds < $5``).
#: $6 = the grace in seconds.
CCU = """
WITH s AS (
    SELECT "at", {MINUTE} AS m, type,
           CASE WHEN type = 'viewer.entered' THEN 1
                WHEN CAST(extract(epoch FROM ("at" - $4::{TS})) AS DOUBLE PRECISION)
                     - CAST(data->>'watch_seconds' AS DOUBLE PRECISION) >= -$6::DOUBLE PRECISION THEN -1
                ELSE 0 END AS delta
    FROM events
    WHERE {W} AND type = ANY(ARRAY['viewer.entered', 'viewer.left']) AND viewer_id IS NOT NULL
      AND (type = 'viewer.entered'
           OR CAST(extract(epoch FROM ("at" - $5::{TS})) AS DOUBLE PRECISION)
              < CAST(data->>'watch_seconds' AS DOUBLE PRECISION))
), r AS (
    SELECT m, type, delta, sum(delta) OVER (ORDER BY "at") AS ccu FROM s
)
SELECT m, max(ccu), sum(delta), count(*) FILTER (WHERE type = 'viewer.entered'),
       count(*) FILTER (WHERE type = 'viewer.left')
FROM r GROUP BY 1 ORDER BY 1
"""

SOURCES = """
SELECT coalesce(data->>'source', 'other') AS source, count(DISTINCT viewer_id) AS uv
FROM events
WHERE {W} AND type = 'viewer.entered' AND viewer_id IS NOT NULL
GROUP BY 1 ORDER BY 2 DESC, 1
"""

#: The event types counted per minute (and summed for the totals).
COUNTED_TYPES = (
    *INTERACTION_TYPES,
    "product.exposed",
    "product.clicked",
    "order.created",
    "order.paid",
    "order.refunded",
    "coupon.redeemed",
)
_COUNTED = ", ".join(f"'{t}'" for t in COUNTED_TYPES)

#: *window* — per minute and type: events, cents (``amount_cents``) and the payload quantity that
#: type sums: a like batch's ``count`` (the ``quantity`` column; the payload of rows stored before it
#: existed) and a redemption's ``discount_cents`` (few rows: parsed).
MINUTE_COUNTS = f"""
SELECT {{MINUTE}} AS m, type, count(*), coalesce(sum(amount_cents), 0),
       coalesce(sum(CASE WHEN type = 'like.batched' THEN coalesce(quantity, CAST(data->>'count' AS BIGINT))
                         WHEN type = 'coupon.redeemed' THEN CAST(data->>'discount_cents' AS BIGINT) END), 0)
FROM events
WHERE {{W}} AND type = ANY(ARRAY[{_COUNTED}])
GROUP BY 1, 2
"""  # noqa: S608 - constant type names only

#: *window* — paid orders and GMV per product.
PRODUCT_SALES = """
SELECT product_id, count(*), coalesce(sum(amount_cents), 0) FROM events
WHERE {W} AND type = 'order.paid' AND product_id IS NOT NULL
GROUP BY 1
"""

#: The types whose distinct viewers the totals need; bit i of a viewer's mask in
#: :data:`TYPE_VIEWERS` is type i.
VIEWER_TYPES = (
    *INTERACTION_TYPES,
    "product.exposed",
    "product.clicked",
    "order.created",
    "order.paid",
)


def _mask(types: tuple[str, ...]) -> str:
    """A type's bit (``CASE type WHEN ... THEN 1 WHEN ... THEN 2 ... END``), for ``bit_or``."""
    return "CASE type " + " ".join(f"WHEN '{t}' THEN {1 << i}" for i, t in enumerate(types)) + " END"


def _bit_counts(n: int) -> str:
    return ", ".join(f"count(*) FILTER (WHERE mask & {1 << i} <> 0)" for i in range(n))


#: *window* — distinct viewers per type of :data:`VIEWER_TYPES`, then those who interacted at all.
#: One row per viewer with a bit per type is several times cheaper than a distinct count per type.
TYPE_VIEWERS = f"""
WITH v AS (
    SELECT viewer_id, bit_or({_mask(VIEWER_TYPES)}) AS mask
    FROM events
    WHERE {{W}} AND type = ANY(ARRAY[{", ".join(f"'{t}'" for t in VIEWER_TYPES)}]) AND viewer_id IS NOT NULL
    GROUP BY viewer_id
)
SELECT {_bit_counts(len(VIEWER_TYPES))},
       count(*) FILTER (WHERE mask & {(1 << len(INTERACTION_TYPES)) - 1} <> 0)
FROM v
"""  # noqa: S608 - constant type names only

PRODUCT_TYPES = ("product.exposed", "product.clicked", "order.created", "order.paid")

#: *window* — in one pass over the events of :data:`PRODUCT_TYPES`, a row per minute (``by_minute``
#: = 1): distinct viewers exposed to and clicking any product; and a row per product (``by_minute``
#: = 0): distinct viewers of each type (paid orders and GMV per product: :data:`PRODUCT_SALES`).
#: Staff (a NULL viewer) count in no minute but as one viewer of a product.
PRODUCT_VIEWERS = f"""
WITH e AS (
    SELECT {{MINUTE}} AS m, product_id, viewer_id, {_mask(PRODUCT_TYPES)} AS bit
    FROM events
    WHERE {{W}} AND type = ANY(ARRAY[{", ".join(f"'{t}'" for t in PRODUCT_TYPES)}])
), v AS (
    SELECT m, product_id, viewer_id, GROUPING(product_id) AS by_minute, bit_or(bit) AS mask
    FROM e GROUP BY GROUPING SETS ((m, viewer_id), (product_id, viewer_id))
)
SELECT by_minute, m, product_id, {_bit_counts(len(PRODUCT_TYPES))}
FROM v
WHERE CASE WHEN by_minute = 1 THEN viewer_id IS NOT NULL AND mask & 3 <> 0 ELSE product_id IS NOT NULL END
GROUP BY 1, 2, 3
"""  # noqa: S608 - constant type names only

EXPLAINING = """
SELECT "at", product_id FROM events WHERE {W} AND type = 'showcase.explaining' ORDER BY "at", id
"""

#: *window* — entries (at their time clamped into the show, $4 = the start) during each explain
#: segment: $5 product ids, $6 segment starts, $7 segment ends (exclusive).
EXPLAINED_PV = """
WITH x AS (
    SELECT unnest($5::BIGINT[]) AS pid, unnest($6::{TS}[]) AS s, unnest($7::{TS}[]) AS e
), v AS (
    SELECT GREATEST("at", $4::{TS}) AS t FROM events
    WHERE {W} AND type = 'viewer.entered' AND viewer_id IS NOT NULL
)
SELECT x.pid, count(*) FROM x JOIN v ON v.t >= x.s AND v.t < x.e GROUP BY x.pid
"""

#: *window* — new vs returning ($4 = the shop, $5 = the show start): returning = entered another
#: show of the shop before this one started. One pass grouped by viewer, no join (a join here is at
#: the mercy of the planner's statistics, missing right after a bulk load on PostgreSQL).
AUDIENCE = """
WITH v AS (
    SELECT viewer_id,
           bool_or(show_id = $1 AND type = 'viewer.entered') AS here,
           bool_or(show_id <> $1) AS before,
           coalesce(sum(amount_cents) FILTER (WHERE show_id = $1 AND type = 'order.paid'), 0) AS gmv,
           bool_or(show_id = $1 AND type = 'order.paid') AS paid
    FROM events
    WHERE shop_id = $4 AND type = ANY(ARRAY['viewer.entered', 'order.paid']) AND viewer_id IS NOT NULL
      AND ((show_id = $1 AND "at" >= $2::{TS} AND "at" <= $3::{TS})
           OR (show_id <> $1 AND type = 'viewer.entered' AND "at" < $5::{TS}))
    GROUP BY viewer_id
)
SELECT before, count(*), count(*) FILTER (WHERE paid), sum(gmv) FROM v WHERE here GROUP BY 1
"""

#: Orders of the show paid after its window, up to the end of the attribution window ($2, $3).
AFTER_SHOW = """
SELECT count(*), coalesce(sum(amount_cents), 0) FROM events
WHERE show_id = $1 AND type = 'order.paid' AND "at" > $2::{TS} AND "at" <= $3::{TS}
"""
