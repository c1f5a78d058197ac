"""Use cases of the post-live review: authorise, find the show and its history, compute, name products."""

from __future__ import annotations

from datetime import UTC, datetime

from liveloop.analytics.errors import EventStoreOff, ReviewUnavailable, ShowNotStarted
from liveloop.analytics.review import compute_review
from liveloop.analytics.review_models import Review
from liveloop.commerce import get_product_infos
from liveloop.core.container import Container
from liveloop.core.db import Database
from liveloop.core.eventstore import EventStore, EventStoreError
from liveloop.rooms import ShowNotFound, ShowWindow, get_earlier_show_windows, get_show_window
from liveloop.shops import Permission, Principal, check_permission


async def get_review(
    container: Container, principal: Principal, show_id: int, *, now: datetime | None = None
) -> Review:
    """The review of one of the principal's shop's shows (partial while it is live)."""
    check_permission(principal, Permission.ANALYTICS_READ)
    show = await get_show_window(container.db, show_id)
    if show is None or show.shop_id != principal.shop_id:
        raise ShowNotFound(f"show {show_id} not found")
    if container.event_store is None:
        raise EventStoreOff("the event store is turned off (LIVELOOP_EVENT_STORE=none): no events to review")
    return await build_review(container.db, container.event_store, show, now=now)


async def build_review(
    db: Database, store: EventStore, show: ShowWindow, *, now: datetime | None = None
) -> Review:
    """The review of ``show`` from ``store`` (no permission check: the caller decided)."""
    if show.started_at is None:
        raise ShowNotStarted(
            f"show {show.show_id} is {show.state.value} and never went live: nothing to review"
        )
    earlier = await get_earlier_show_windows(db, shop_id=show.shop_id, before=show.started_at)
    try:
        review = await compute_review(store, show, as_of=now or datetime.now(UTC), earlier=earlier)
    except EventStoreError as exc:
        raise ReviewUnavailable(f"the event store did not answer: {exc}") from exc
    ids = [p.product_id for p in review.products]
    async with db.read() as session:
        infos = await get_product_infos(session, shop_id=show.shop_id, product_ids=ids)
    if not infos:
        return review
    products = [
        p.model_copy(update={"title": infos[p.product_id].title}) if p.product_id in infos else p
        for p in review.products
    ]
    return review.model_copy(update={"products": products})
