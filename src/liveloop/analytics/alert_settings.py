"""Use cases of live alerts in the SQL store: per-room thresholds, and the alerts fired per show."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from liveloop.analytics.alert_model import Alert, Rule, Thresholds
from liveloop.analytics.alert_storage import RoomAlertSettingsRow, ShowAlertRow
from liveloop.core.db import Database, utcnow
from liveloop.rooms import RoomNotFound, get_room_shop_id, get_show_card
from liveloop.shops import Permission, Principal, check_permission

__all__ = [
    "MAX_ALERTS_LISTED",
    "NewAlert",
    "do_put_alert_settings",
    "do_store_alerts",
    "get_alert_settings",
    "get_recent_alerts",
    "get_room_thresholds",
    "get_show_alerts",
]

MAX_ALERTS_LISTED = 500
_RULES = frozenset(rule.value for rule in Rule)


def _thresholds(row: RoomAlertSettingsRow | None) -> Thresholds:
    if row is None:
        return Thresholds()
    return Thresholds(
        enabled_rules=frozenset(Rule(r) for r in row.enabled_rules if r in _RULES),
        ccu_floor=row.ccu_floor,
        low_ctr_ratio=row.low_ctr_ratio,
        min_exposures=row.min_exposures,
        traffic_drop_ratio=row.traffic_drop_ratio,
        traffic_window_min=row.traffic_window_min,
        stall_ratio=row.stall_ratio,
        stall_min_clicks=row.stall_min_clicks,
        stall_window_min=row.stall_window_min,
    )


async def _check_room(db: Database, principal: Principal, room_id: int) -> None:
    async with db.read() as session:
        shop_id = await get_room_shop_id(session, room_id)
    if shop_id != principal.shop_id:
        raise RoomNotFound(f"room {room_id} not found")


async def get_alert_settings(db: Database, principal: Principal, room_id: int) -> Thresholds:
    check_permission(principal, Permission.ALERTS_MANAGE)
    await _check_room(db, principal, room_id)
    async with db.read() as session:
        return _thresholds(await session.get(RoomAlertSettingsRow, room_id))


async def do_put_alert_settings(
    db: Database, principal: Principal, room_id: int, settings: Thresholds
) -> Thresholds:
    """Replace the room's thresholds (every field; the API fills omitted ones with the defaults)."""
    check_permission(principal, Permission.ALERTS_MANAGE)
    await _check_room(db, principal, room_id)
    fields: dict[str, Any] = {
        "enabled_rules": sorted(r.value for r in settings.enabled_rules),
        "ccu_floor": settings.ccu_floor,
        "low_ctr_ratio": settings.low_ctr_ratio,
        "min_exposures": settings.min_exposures,
        "traffic_drop_ratio": settings.traffic_drop_ratio,
        "traffic_window_min": settings.traffic_window_min,
        "stall_ratio": settings.stall_ratio,
        "stall_min_clicks": settings.stall_min_clicks,
        "stall_window_min": settings.stall_window_min,
        "updated_at": utcnow(),
    }
    async with db.transaction() as session:
        row = await session.get(RoomAlertSettingsRow, room_id, with_for_update=True)
        if row is None:
            row = RoomAlertSettingsRow(room_id=room_id, shop_id=principal.shop_id, **fields)
            session.add(row)
        else:
            for name, value in fields.items():
                setattr(row, name, value)
    return _thresholds(row)


async def get_room_thresholds(db: Database, room_ids: Collection[int]) -> dict[int, Thresholds]:
    """Every listed room's thresholds (defaults where none are stored); system use, no principal."""
    found: dict[int, Thresholds] = {room_id: Thresholds() for room_id in room_ids}
    if not found:
        return found
    async with db.read() as session:
        rows = await session.scalars(
            select(RoomAlertSettingsRow).where(RoomAlertSettingsRow.room_id.in_(sorted(found)))
        )
        for row in rows:
            found[row.room_id] = _thresholds(row)
    return found


@dataclass(frozen=True, slots=True)
class NewAlert:
    shop_id: int
    room_id: int
    show_id: int
    show_title: str
    alert: Alert


def _out(row: ShowAlertRow) -> dict[str, Any]:
    return {"id": row.id, **row.payload}


async def do_store_alerts(db: Database, alerts: Sequence[NewAlert]) -> list[dict[str, Any]]:
    """Store fired alerts in one transaction; return each one's API form (with its id), in order."""
    rows = [
        ShowAlertRow(
            shop_id=a.shop_id,
            show_id=a.show_id,
            rule=a.alert.rule.value,
            product_id=a.alert.product_id,
            payload={
                **a.alert.payload(),
                "shop_id": a.shop_id,
                "room_id": a.room_id,
                "show_id": a.show_id,
                "show_title": a.show_title,
            },
            fired_at=a.alert.at,
        )
        for a in alerts
    ]
    if not rows:
        return []
    async with db.transaction() as session:
        session.add_all(rows)
        await session.flush()
        return [_out(row) for row in rows]


async def get_recent_alerts(
    db: Database, shop_id: int, show_id: int, *, limit: int = 100, since: datetime | None = None
) -> list[dict[str, Any]]:
    """The show's alerts, newest first (system use: the caller checked the shop)."""
    stmt = select(ShowAlertRow).where(ShowAlertRow.shop_id == shop_id, ShowAlertRow.show_id == show_id)
    if since is not None:
        stmt = stmt.where(ShowAlertRow.fired_at >= since)
    stmt = stmt.order_by(ShowAlertRow.fired_at.desc(), ShowAlertRow.id.desc()).limit(
        min(max(limit, 1), MAX_ALERTS_LISTED)
    )
    async with db.read() as session:
        return [_out(row) for row in await session.scalars(stmt)]


async def get_show_alerts(
    db: Database, principal: Principal, show_id: int, *, limit: int
) -> list[dict[str, Any]]:
    check_permission(principal, Permission.ANALYTICS_READ)
    await get_show_card(db, principal, show_id)  # ShowNotFound for another shop's show, as for none
    return await get_recent_alerts(db, principal.shop_id, show_id, limit=limit)
