"""Frozen values that cross the shops domain's border."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    OPERATOR = "operator"
    HOST = "host"
    MODERATOR = "moderator"


class Permission(StrEnum):
    SHOP_MANAGE = "shop.manage"
    STAFF_MANAGE = "staff.manage"
    CATALOG_READ = "catalog.read"
    CATALOG_WRITE = "catalog.write"
    ROOMS_READ = "rooms.read"
    ROOMS_WRITE = "rooms.write"
    SHOWS_READ = "shows.read"
    SHOWS_WRITE = "shows.write"
    SHOWS_CONTROL = "shows.control"
    VIEWER_TOKENS_ISSUE = "viewer_tokens.issue"
    MODERATE = "moderate"
    #: Live alerts: per-room thresholds and the shop's notify targets (WeCom robots, webhooks).
    ALERTS_MANAGE = "alerts.manage"
    ANALYTICS_READ = "analytics.read"  # live metrics and the post-live review of the shop's shows


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated staff member acting through one API key."""

    shop_id: int
    staff_id: int
    role: Role
    api_key_id: int


@dataclass(frozen=True, slots=True)
class Viewer:
    """A person in a live room: a shop's logged-in user (viewer token) or a guest device."""

    shop_id: int
    viewer_id: str  # "u:<user id>", "d:<device id>" (the keys metrics count by) or "s:<staff id>"
    nickname: str
    user_id: str | None = None
    device_id: str | None = None
    staff_role: Role | None = None  # set for staff on the room socket (host, moderator, ...)

    @property
    def is_guest(self) -> bool:
        return self.user_id is None and self.staff_role is None

    @property
    def is_staff(self) -> bool:
        return self.staff_role is not None
