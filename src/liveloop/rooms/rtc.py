"""A shop's RTC provider settings (LiveKit or Agora): write-only secrets, read back as hints.

The rooms domain keeps them because co-host tokens are their only use; ``load_rtc_config`` turns the
stored row into the port's :data:`~liveloop.core.rtc.RtcConfig` for the issuer factory.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from liveloop.core.db import Database, utcnow
from liveloop.core.rtc import AgoraConfig, LiveKitConfig, RtcConfig, RtcProvider
from liveloop.rooms.errors import InvalidRtcConfig, RtcNotConfigured
from liveloop.rooms.storage import RtcConfigRow
from liveloop.shops import Permission, Principal, check_permission


def rtc_room_name(*, shop_id: int, room_id: int) -> str:
    """The provider's room (channel) name: unique across shops sharing one RTC project."""
    return f"liveloop-{shop_id}-{room_id}"


@dataclass(frozen=True, slots=True)
class RtcConfigChange:
    """A shop's new RTC settings; a secret left None keeps the stored one of the same provider."""

    provider: RtcProvider | None
    livekit_url: str | None = None
    livekit_api_key: str | None = None
    livekit_api_secret: str | None = None
    agora_app_id: str | None = None
    agora_app_certificate: str | None = None


_FIELDS = {
    RtcProvider.LIVEKIT: ("livekit_url", "livekit_api_key", "livekit_api_secret"),
    RtcProvider.AGORA: ("agora_app_id", "agora_app_certificate"),
}
_SECRETS = frozenset({"livekit_api_secret", "agora_app_certificate"})


async def get_rtc_config(db: Database, principal: Principal) -> RtcConfigRow | None:
    check_permission(principal, Permission.SHOP_MANAGE)
    async with db.read() as session:
        return await session.get(RtcConfigRow, principal.shop_id)


async def do_set_rtc_config(
    db: Database, principal: Principal, change: RtcConfigChange
) -> RtcConfigRow | None:
    """Replace the shop's RTC settings (``provider=None`` forgets them, secrets included)."""
    check_permission(principal, Permission.SHOP_MANAGE)
    provider = change.provider
    if provider is not None:
        foreign = [
            f for p, names in _FIELDS.items() if p is not provider for f in names if getattr(change, f)
        ]
        if foreign:
            raise InvalidRtcConfig(f"{', '.join(foreign)} do not apply to provider {provider.value}")
    async with db.transaction() as session:
        row = await session.get(RtcConfigRow, principal.shop_id, with_for_update=True)
        if provider is None:
            await session.execute(delete(RtcConfigRow).where(RtcConfigRow.shop_id == principal.shop_id))
            return None
        kept = row if row is not None and row.provider == provider.value else None
        values = {name: getattr(change, name) for names in _FIELDS.values() for name in names}
        for name in _SECRETS:
            if values[name] is None and kept is not None:
                values[name] = getattr(kept, name)
        missing = [name for name in _FIELDS[provider] if not values[name]]
        if missing:
            raise InvalidRtcConfig(f"provider {provider.value} needs {', '.join(missing)}")
        if row is None:
            row = RtcConfigRow(shop_id=principal.shop_id)
            session.add(row)
        row.provider = provider.value
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_at = utcnow()
    return row


async def load_rtc_config(session: AsyncSession, shop_id: int) -> RtcConfig:
    row = await session.get(RtcConfigRow, shop_id)
    provider = row.provider if row is not None else None
    if row is not None and provider == RtcProvider.LIVEKIT.value:
        url, key, secret = row.livekit_url, row.livekit_api_key, row.livekit_api_secret
        if url and key and secret:
            return LiveKitConfig(url=url, api_key=key, api_secret=secret)
    if row is not None and provider == RtcProvider.AGORA.value:
        app_id, certificate = row.agora_app_id, row.agora_app_certificate
        if app_id and certificate:
            return AgoraConfig(app_id=app_id, app_certificate=certificate)
    raise RtcNotConfigured("this shop has no RTC provider configured (PUT /api/v1/rtc-config)")
