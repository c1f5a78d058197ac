"""Use cases of the shops domain: tenants, staff, API keys, viewer identities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from liveloop.core.db import Database, utcnow
from liveloop.core.errors import InvalidInput, NotFound
from liveloop.core.pagination import PageParams
from liveloop.shops import credentials
from liveloop.shops.contracts import Permission, Principal, Role, Viewer
from liveloop.shops.errors import (
    ApiKeyNotFound,
    InvalidApiKey,
    InvalidViewerToken,
    LastOwner,
    PermissionDenied,
    StaffNotFound,
)
from liveloop.shops.model import role_allows
from liveloop.shops.storage import ApiKeyRow, ShopRow, StaffRow
from liveloop.shops.viewer_keys import ViewerKeyCache


@dataclass(frozen=True, slots=True)
class CreatedShop:
    shop: ShopRow
    owner: StaffRow
    api_key: str


@dataclass(frozen=True, slots=True)
class IssuedKey:
    row: ApiKeyRow
    plaintext: str


@dataclass(frozen=True, slots=True)
class IssuedViewerToken:
    token: str
    expires_at: datetime
    viewer_id: str


def check_permission(principal: Principal, permission: Permission) -> None:
    if not role_allows(principal.role, permission):
        raise PermissionDenied(f"role {principal.role.value!r} may not {permission.value}")


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {name!r}") from None
    return name


async def do_create_shop(
    db: Database, *, name: str, owner_name: str = "Owner", timezone: str = "Asia/Shanghai"
) -> CreatedShop:
    check_timezone(timezone)
    minted = credentials.mint_api_key()
    async with db.transaction() as session:
        shop = ShopRow(name=name, timezone=timezone, viewer_key=credentials.new_viewer_key())
        session.add(shop)
        await session.flush()
        owner = StaffRow(shop_id=shop.id, name=owner_name, role=Role.OWNER.value, active=True)
        session.add(owner)
        await session.flush()
        session.add(
            ApiKeyRow(
                shop_id=shop.id,
                staff_id=owner.id,
                key_id=minted.key_id,
                secret_hash=minted.secret_hash,
                label="owner (created with the shop)",
            )
        )
    return CreatedShop(shop=shop, owner=owner, api_key=minted.plaintext)


async def count_shops(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(ShopRow)) or 0)


async def get_principal(db: Database, raw_key: str) -> Principal:
    key_id, secret = credentials.parse_api_key(raw_key)
    async with db.read() as session:
        row = (
            await session.execute(
                select(ApiKeyRow, StaffRow)
                .join(StaffRow, StaffRow.id == ApiKeyRow.staff_id)
                .where(ApiKeyRow.key_id == key_id)
            )
        ).first()
    if row is None:
        raise InvalidApiKey("API key is not known")
    key, staff = row
    if (
        key.revoked_at is not None
        or not staff.active
        or not credentials.secret_matches(secret, key.secret_hash)
    ):
        raise InvalidApiKey("API key is not valid")
    return Principal(shop_id=key.shop_id, staff_id=staff.id, role=Role(staff.role), api_key_id=key.id)


async def get_shop(db: Database, principal: Principal) -> ShopRow:
    async with db.read() as session:
        shop = await session.get(ShopRow, principal.shop_id)
    if shop is None:  # the key's shop was deleted under it
        raise NotFound("shop not found")
    return shop


async def get_self(db: Database, principal: Principal) -> StaffRow:
    async with db.read() as session:
        return await session.get_one(StaffRow, principal.staff_id)


async def do_update_shop(
    db: Database, principal: Principal, *, name: str | None, timezone: str | None
) -> ShopRow:
    check_permission(principal, Permission.SHOP_MANAGE)
    async with db.transaction() as session:
        shop = await session.get_one(ShopRow, principal.shop_id)
        if name is not None:
            shop.name = name
        if timezone is not None:
            shop.timezone = check_timezone(timezone)
    return shop


async def do_rotate_viewer_key(db: Database, principal: Principal) -> None:
    """New viewer tokens use a new key; tokens signed with the previous key stay valid."""
    check_permission(principal, Permission.SHOP_MANAGE)
    async with db.transaction() as session:
        shop = await session.get_one(ShopRow, principal.shop_id)
        shop.viewer_key_previous = shop.viewer_key
        shop.viewer_key = credentials.new_viewer_key()


async def _staff_in_shop(session: AsyncSession, principal: Principal, staff_id: int) -> StaffRow:
    staff = await session.get(StaffRow, staff_id)
    if staff is None or staff.shop_id != principal.shop_id:
        raise StaffNotFound(f"staff {staff_id} not found")
    return staff


async def get_staff_page(db: Database, principal: Principal, page: PageParams) -> list[StaffRow]:
    check_permission(principal, Permission.STAFF_MANAGE)
    async with db.read() as session:
        rows = await session.scalars(
            select(StaffRow)
            .where(StaffRow.shop_id == principal.shop_id, StaffRow.id > page.after_id)
            .order_by(StaffRow.id)
            .limit(page.limit + 1)
        )
        return list(rows)


async def get_staff(db: Database, principal: Principal, staff_id: int) -> StaffRow:
    check_permission(principal, Permission.STAFF_MANAGE)
    async with db.read() as session:
        return await _staff_in_shop(session, principal, staff_id)


async def do_create_staff(db: Database, principal: Principal, *, name: str, role: Role) -> StaffRow:
    check_permission(principal, Permission.STAFF_MANAGE)
    async with db.transaction() as session:
        staff = StaffRow(shop_id=principal.shop_id, name=name, role=role.value, active=True)
        session.add(staff)
    return staff


async def do_update_staff(
    db: Database,
    principal: Principal,
    staff_id: int,
    *,
    name: str | None,
    role: Role | None,
    active: bool | None,
) -> StaffRow:
    check_permission(principal, Permission.STAFF_MANAGE)
    async with db.transaction() as session:
        staff = await _staff_in_shop(session, principal, staff_id)
        loses_owner = staff.role == Role.OWNER.value and (
            (role is not None and role is not Role.OWNER) or active is False
        )
        if loses_owner:
            owners = await session.scalar(
                select(func.count())
                .select_from(StaffRow)
                .where(
                    StaffRow.shop_id == principal.shop_id,
                    StaffRow.role == Role.OWNER.value,
                    StaffRow.active.is_(True),
                )
            )
            if (owners or 0) <= 1:
                raise LastOwner("a shop keeps at least one active owner")
        if name is not None:
            staff.name = name
        if role is not None:
            staff.role = role.value
        if active is not None:
            staff.active = active
    return staff


async def do_issue_api_key(db: Database, principal: Principal, staff_id: int, *, label: str) -> IssuedKey:
    check_permission(principal, Permission.STAFF_MANAGE)
    minted = credentials.mint_api_key()
    async with db.transaction() as session:
        staff = await _staff_in_shop(session, principal, staff_id)
        row = ApiKeyRow(
            shop_id=principal.shop_id,
            staff_id=staff.id,
            key_id=minted.key_id,
            secret_hash=minted.secret_hash,
            label=label,
        )
        session.add(row)
    return IssuedKey(row=row, plaintext=minted.plaintext)


async def get_api_keys(db: Database, principal: Principal, staff_id: int) -> list[ApiKeyRow]:
    check_permission(principal, Permission.STAFF_MANAGE)
    async with db.read() as session:
        await _staff_in_shop(session, principal, staff_id)
        rows = await session.scalars(
            select(ApiKeyRow).where(ApiKeyRow.staff_id == staff_id).order_by(ApiKeyRow.id)
        )
        return list(rows)


async def do_revoke_api_key(db: Database, principal: Principal, api_key_id: int) -> None:
    check_permission(principal, Permission.STAFF_MANAGE)
    async with db.transaction() as session:
        row = await session.get(ApiKeyRow, api_key_id)
        if row is None or row.shop_id != principal.shop_id:
            raise ApiKeyNotFound(f"API key {api_key_id} not found")
        if row.revoked_at is None:
            row.revoked_at = utcnow()


async def do_issue_viewer_token(
    db: Database, principal: Principal, *, user_id: str, nickname: str, ttl_seconds: int
) -> IssuedViewerToken:
    check_permission(principal, Permission.VIEWER_TOKENS_ISSUE)
    shop = await get_shop(db, principal)
    token, expires = credentials.sign_viewer_token(
        shop_id=shop.id,
        key=shop.viewer_key,
        user_id=user_id,
        nickname=nickname,
        ttl=timedelta(seconds=ttl_seconds),
    )
    return IssuedViewerToken(token=token, expires_at=expires, viewer_id=f"u:{user_id}")


async def get_viewer(db: Database, token: str, *, keys: ViewerKeyCache | None = None) -> Viewer:
    """The viewer a token stands for; raises InvalidViewerToken/ExpiredViewerToken.

    With ``keys`` (the process's cache) the shop's viewer keys usually come without a SQL read; see
    :mod:`liveloop.shops.viewer_keys` for what that means for a rotated key.
    """
    shop_id = credentials.viewer_token_shop(token)
    cache = keys if keys is not None else ViewerKeyCache(db, ttl_seconds=0.0)  # no cache: read SQL
    claims = await cache.verify(token, shop_id)
    user_id: str = claims["sub"]
    nickname = claims.get("nick")
    nick = nickname if isinstance(nickname, str) and nickname else user_id
    role = claims.get("role")
    if role is not None:
        try:
            staff_role = Role(role)
        except ValueError:
            raise InvalidViewerToken("staff token names an unknown role") from None
        return Viewer(shop_id=shop_id, viewer_id=f"s:{user_id}", nickname=nick, staff_role=staff_role)
    return Viewer(shop_id=shop_id, viewer_id=f"u:{user_id}", nickname=nick, user_id=user_id)


async def do_issue_staff_socket_token(db: Database, principal: Principal) -> IssuedViewerToken:
    """A 5-minute token that lets this staff member open room sockets with their role."""
    shop = await get_shop(db, principal)
    staff = await get_self(db, principal)
    token, expires = credentials.sign_viewer_token(
        shop_id=shop.id,
        key=shop.viewer_key,
        user_id=str(staff.id),
        nickname=staff.name,
        ttl=timedelta(minutes=5),
        staff_role=principal.role.value,
    )
    return IssuedViewerToken(token=token, expires_at=expires, viewer_id=f"s:{staff.id}")


def guest_viewer(shop_id: int, device_id: str) -> Viewer:
    """A viewer known only by a device id; guests watch and react but own no orders."""
    if not device_id or len(device_id) > 64 or not device_id.isprintable():
        raise InvalidInput("device id must be 1-64 printable characters")
    return Viewer(
        shop_id=shop_id, viewer_id=f"d:{device_id}", nickname=f"游客{device_id[-4:]}", device_id=device_id
    )
