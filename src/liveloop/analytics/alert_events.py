"""Events of live alerts."""

from __future__ import annotations

from liveloop.core.events import EventData

__all__ = ["AlertFired"]


class AlertFired(EventData):
    """A live alert rule fired for a show (system actor; room_id and show_id set on the envelope)."""

    TYPE = "alert.fired"

    alert_id: int
    rule: str  # low_ctr_explaining | traffic_drop | conversion_stall
    severity: str  # warning | critical
    product_id: int | None
    message_zh: str
    message_en: str
    suggestion_zh: str
    suggestion_en: str
    figures: dict[str, int | float | str | None]
