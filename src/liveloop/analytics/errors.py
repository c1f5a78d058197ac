"""Stable error codes of the analytics domain (live metrics, the post-live review)."""

from __future__ import annotations

from liveloop.core.errors import Conflict, LiveloopError


class ShowNotStarted(Conflict):
    """The show never went live (scheduled, or cancelled before it started): there is nothing to review."""

    code = "review.show_not_started"


class EventStoreOff(Conflict):
    """The event store is turned off (``LIVELOOP_EVENT_STORE=none``), so there are no events to read."""

    code = "review.event_store_off"


class ReviewUnavailable(LiveloopError):
    """The event store did not answer; retrying later may work."""

    code = "review.unavailable"
    status = 503
