"""Analytics: the event schema's store, ingest from the event bus, and (later) the post-live review."""

from liveloop.analytics.ingest import OVERFLOW_POLICY, EventIngest

__all__ = ["OVERFLOW_POLICY", "EventIngest"]
