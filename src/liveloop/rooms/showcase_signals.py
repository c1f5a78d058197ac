"""What viewers do with the show's products: see them (exposure), tap them (click), add them to the cart.

The client reports these (over REST or the room socket); the server checks them and turns them into
``product.exposed``, ``product.clicked`` and ``cart.added`` events, the inputs of exposure UV, CTR and
the funnel (METRICS.md). An exposure is an event only the first time a viewer sees a product in a
show: the set of products each viewer has seen lives in Counters, so that holds across nodes.

Checks, in order: the batch's shape, the viewer's rate (a token bucket per viewer, one token per
signal, spent before the show is read, so a flood never reaches the database), the show (the
viewer's shop, live), and that every product is in its line-up. A batch is all or nothing: one
product outside the line-up refuses it whole. Staff (socket tokens with a role) are not audience,
like their sockets are not counted in presence: their signals are accepted and recorded nowhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select

from liveloop.core.counters import Counters
from liveloop.core.db import Database
from liveloop.core.events import Event, EventData, make_event
from liveloop.rooms.errors import InvalidSignal, NotInLineup, ShowNotFound, ShowNotLive, SignalsRateLimited
from liveloop.rooms.events import CartAdded, ProductClicked, ProductExposed, Surface
from liveloop.rooms.model import ShowState
from liveloop.rooms.storage import LineupRow, ShowRow
from liveloop.shops import Viewer

SignalKind = Literal["exposure", "click", "add_to_cart"]
SIGNAL_KINDS: frozenset[str] = frozenset(SignalKind.__args__)  # type: ignore[attr-defined]
SURFACES: frozenset[str] = frozenset(Surface.__args__)  # type: ignore[attr-defined]
MAX_SIGNALS = 50
MAX_QUANTITY = 99
#: Per viewer: 10 signals a second on average, bursts of 100 (a page full of cards at once).
RATE_PER_SECOND = 10.0
BURST = 100
#: How long the "already seen" sets live: longer than any show.
EXPOSED_TTL_SECONDS = 3 * 86400


@dataclass(frozen=True, slots=True)
class ProductSignal:
    kind: SignalKind
    product_id: int
    surface: Surface
    quantity: int = 1  # add_to_cart only


def exposed_key(show_id: int, viewer_id: str) -> str:
    """The set of product ids ``viewer_id`` has been shown in ``show_id``."""
    return f"showcase:exposed:{show_id}:{viewer_id}"


def rate_key(shop_id: int, viewer_id: str) -> str:
    return f"showcase:rate:{shop_id}:{viewer_id}"


def check_signals(signals: Sequence[ProductSignal]) -> None:
    if len(signals) > MAX_SIGNALS:
        raise InvalidSignal(f"send at most {MAX_SIGNALS} signals at once")
    for signal in signals:
        if signal.kind not in SIGNAL_KINDS or signal.surface not in SURFACES:
            raise InvalidSignal(f"unknown signal {signal.kind!r} on {signal.surface!r}")
        if not 1 <= signal.product_id <= 2**53:
            raise InvalidSignal(f"product id {signal.product_id} is out of range")
        if not 1 <= signal.quantity <= MAX_QUANTITY:
            raise InvalidSignal(f"quantity must be 1-{MAX_QUANTITY}")


@dataclass(frozen=True, slots=True)
class _Show:
    id: int
    shop_id: int
    room_id: int


async def _live_show(db: Database, viewer: Viewer, show_id: int, product_ids: set[int]) -> _Show:
    async with db.read() as session:
        row = (
            await session.execute(
                select(ShowRow.shop_id, ShowRow.room_id, ShowRow.state).where(ShowRow.id == show_id)
            )
        ).first()
        if row is None or row.shop_id != viewer.shop_id:
            raise ShowNotFound(f"show {show_id} not found")
        if row.state != ShowState.LIVE.value:
            raise ShowNotLive(f"show {show_id} is {row.state}, not live")
        listed = set(
            await session.scalars(
                select(LineupRow.product_id).where(
                    LineupRow.show_id == show_id, LineupRow.product_id.in_(product_ids)
                )
            )
        )
    missing = sorted(product_ids - listed)
    if missing:
        raise NotInLineup(
            f"product {missing[0]} is not in this show's line-up", details={"product_ids": missing}
        )
    return _Show(id=show_id, shop_id=row.shop_id, room_id=row.room_id)


async def do_record_signals(
    db: Database, counters: Counters, viewer: Viewer, show_id: int, signals: Sequence[ProductSignal]
) -> list[Event]:
    """Check ``viewer``'s signals about ``show_id``'s products and return the events they make.

    The caller emits the events. Raises InvalidSignal, SignalsRateLimited, ShowNotFound (not the
    viewer's shop's show), ShowNotLive or NotInLineup, and then nothing is recorded.
    """
    check_signals(signals)
    if not signals or viewer.is_staff:
        return []
    rate = await counters.rate_limit(
        rate_key(viewer.shop_id, viewer.viewer_id),
        rate_per_second=RATE_PER_SECOND,
        burst=BURST,
        cost=len(signals),
    )
    if not rate.allowed:
        wait = rate.retry_after_seconds
        raise SignalsRateLimited(f"too many product signals: retry in {wait:.1f} s", retry_after_seconds=wait)
    show = await _live_show(db, viewer, show_id, {s.product_id for s in signals})
    payloads: list[EventData] = []
    for signal in signals:
        match signal.kind:
            case "exposure":
                first = await counters.add_member(
                    exposed_key(show.id, viewer.viewer_id),
                    str(signal.product_id),
                    ttl_seconds=EXPOSED_TTL_SECONDS,
                )
                if first:
                    payloads.append(
                        ProductExposed(show_id=show.id, product_id=signal.product_id, surface=signal.surface)
                    )
            case "click":
                payloads.append(
                    ProductClicked(show_id=show.id, product_id=signal.product_id, surface=signal.surface)
                )
            case "add_to_cart":
                payloads.append(
                    CartAdded(show_id=show.id, product_id=signal.product_id, quantity=signal.quantity)
                )
    return [
        make_event(p, shop_id=show.shop_id, room_id=show.room_id, show_id=show.id, actor=viewer.viewer_id)
        for p in payloads
    ]
