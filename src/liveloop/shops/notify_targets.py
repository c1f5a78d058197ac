"""A shop's notify targets: where its staff are told things (a WeCom group robot, a webhook).

A target's URL and secret are credentials (a WeCom robot's key is the ``key`` query parameter):
they are stored, used to send and never shown again: reads get a masked URL and ``has_secret``.

A URL whose host is or resolves to a non-public address (loopback, private, link-local: the cloud
metadata service at 169.254.169.254, ...) is refused with ``shops.notify_target_not_public`` unless
``LIVELOOP_NOTIFY_ALLOW_PRIVATE_HOSTS`` is on (the notifier checks again at each send, since DNS
answers change). A name that does not resolve at all is accepted: it is checked when it is sent to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import func, select

from liveloop.core.db import Database, utcnow
from liveloop.core.notify import (
    Delivery,
    Message,
    NonPublicAddress,
    Notifier,
    NotifyKind,
    NotifyTarget,
    Resolver,
    check_public_url,
    resolve_host,
)
from liveloop.shops.contracts import Permission, Principal
from liveloop.shops.errors import (
    InvalidNotifyTarget,
    NotifyTargetNotFound,
    NotifyTargetNotPublic,
    TooManyNotifyTargets,
)
from liveloop.shops.service import check_permission
from liveloop.shops.storage import NotifyTargetRow

__all__ = [
    "KEEP",
    "MAX_NOTIFY_TARGETS",
    "WECOM_ROBOT_URL",
    "NotifyTargetView",
    "check_target_host",
    "check_target_url",
    "do_create_notify_target",
    "do_delete_notify_target",
    "do_send_test_notification",
    "do_update_notify_target",
    "get_enabled_notify_targets",
    "get_notify_targets",
    "mask_url",
]

MAX_NOTIFY_TARGETS = 20
WECOM_ROBOT_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
_WECOM = urlsplit(WECOM_ROBOT_URL)
_WECOM_KEY = re.compile(r"^[A-Za-z0-9-]{1,100}$")
#: A test message is one try: the operator sees the channel's answer at once and may press again.
TEST_ATTEMPTS = 1


class _Keep(Enum):
    KEEP = "keep"


#: "Leave it as it is" for an optional field of an update (None there means "remove").
KEEP = _Keep.KEEP


@dataclass(frozen=True, slots=True)
class NotifyTargetView:
    id: int
    kind: NotifyKind
    url_masked: str
    has_secret: bool
    enabled: bool
    created_at: datetime


def _view(row: NotifyTargetRow) -> NotifyTargetView:
    return NotifyTargetView(
        id=row.id,
        kind=NotifyKind(row.kind),
        url_masked=mask_url(row.url),
        has_secret=row.secret is not None,
        enabled=row.enabled,
        created_at=row.created_at,
    )


def _target(row: NotifyTargetRow) -> NotifyTarget:
    return NotifyTarget(kind=NotifyKind(row.kind), url=row.url, secret=row.secret, id=row.id)


def mask_url(url: str) -> str:
    """``url`` with every query value hidden but its last 4 characters (``key=****a1b2``)."""
    parts = urlsplit(url)
    query = [
        (name, "****" + value[-4:] if len(value) > 8 else "****") for name, value in parse_qsl(parts.query)
    ]
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="*"), ""))


def check_target_url(kind: NotifyKind, url: str) -> str:
    """``url`` if it may be sent to as ``kind``; raise InvalidNotifyTarget otherwise.

    Any target: http or https, a host, no credentials in it, no fragment. A WeCom robot:
    exactly ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=<key>``.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidNotifyTarget("url is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidNotifyTarget("url must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise InvalidNotifyTarget("url may not hold credentials (user:password@) or a #fragment")
    if kind is NotifyKind.WECOM:
        query = parse_qsl(parts.query, keep_blank_values=True)
        if (
            parts.scheme != _WECOM.scheme
            or parts.hostname != _WECOM.hostname
            or port not in (None, 443)
            or parts.path != _WECOM.path
            or len(query) != 1
            or query[0][0] != "key"
            or not _WECOM_KEY.match(query[0][1])
        ):
            raise InvalidNotifyTarget(
                f"a WeCom group robot's URL looks like {WECOM_ROBOT_URL}?key=<robot key>"
            )
    return url


async def check_target_host(url: str, *, allow_private_hosts: bool, resolve: Resolver = resolve_host) -> None:
    """Raise NotifyTargetNotPublic when ``url``'s host is or resolves to a non-public address
    (unless private hosts are allowed); a name that does not resolve now passes (see the module doc)."""
    if allow_private_hosts:
        return
    try:
        await check_public_url(url, resolve=resolve)
    except NonPublicAddress as exc:
        raise NotifyTargetNotPublic(
            f"{exc}: notify targets must be reachable on the public internet "
            "(LIVELOOP_NOTIFY_ALLOW_PRIVATE_HOSTS allows private hosts)"
        ) from None
    except OSError:
        return


def _check_secret(kind: NotifyKind, secret: str | None) -> None:
    if kind is NotifyKind.WECOM and secret is not None:
        raise InvalidNotifyTarget("a WeCom robot has no secret: its key is in the URL")


async def get_notify_targets(db: Database, principal: Principal) -> list[NotifyTargetView]:
    check_permission(principal, Permission.ALERTS_MANAGE)
    async with db.read() as session:
        rows = await session.scalars(
            select(NotifyTargetRow)
            .where(NotifyTargetRow.shop_id == principal.shop_id)
            .order_by(NotifyTargetRow.id)
        )
        return [_view(row) for row in rows]


async def do_create_notify_target(
    db: Database,
    principal: Principal,
    *,
    kind: NotifyKind,
    url: str,
    secret: str | None,
    enabled: bool,
    allow_private_hosts: bool = False,
    resolve: Resolver = resolve_host,
) -> NotifyTargetView:
    check_permission(principal, Permission.ALERTS_MANAGE)
    check_target_url(kind, url)
    _check_secret(kind, secret)
    await check_target_host(url, allow_private_hosts=allow_private_hosts, resolve=resolve)
    async with db.transaction() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(NotifyTargetRow)
            .where(NotifyTargetRow.shop_id == principal.shop_id)
        )
        if (count or 0) >= MAX_NOTIFY_TARGETS:
            raise TooManyNotifyTargets(
                f"a shop has at most {MAX_NOTIFY_TARGETS} notify targets; delete one first"
            )
        row = NotifyTargetRow(
            shop_id=principal.shop_id,
            kind=kind.value,
            url=url,
            secret=secret,
            enabled=enabled,
            created_at=utcnow(),
        )
        session.add(row)
    return _view(row)


async def _target_in_shop(db: Database, principal: Principal, target_id: int) -> NotifyTargetRow:
    async with db.read() as session:
        row = await session.get(NotifyTargetRow, target_id)
    if row is None or row.shop_id != principal.shop_id:
        raise NotifyTargetNotFound(f"notify target {target_id} not found")
    return row


async def do_update_notify_target(
    db: Database,
    principal: Principal,
    target_id: int,
    *,
    url: str | None = None,
    secret: str | Literal[_Keep.KEEP] | None = KEEP,
    enabled: bool | None = None,
    allow_private_hosts: bool = False,
    resolve: Resolver = resolve_host,
) -> NotifyTargetView:
    """Change the target's URL, secret (None removes it) or enabled flag; what is not given stays.

    The same rules as creating one: ``ALERTS_MANAGE``, the URL's shape for the target's kind, no
    secret on a WeCom robot, a public host for a new URL. The kind does not change (make a new target).
    """
    check_permission(principal, Permission.ALERTS_MANAGE)
    row = await _target_in_shop(db, principal, target_id)
    kind = NotifyKind(row.kind)
    if url is not None:
        check_target_url(kind, url)
    if secret is not KEEP:
        _check_secret(kind, secret)
    if url is not None:
        await check_target_host(url, allow_private_hosts=allow_private_hosts, resolve=resolve)
    async with db.transaction() as session:
        stored = await session.get(NotifyTargetRow, target_id, populate_existing=True)
        if stored is None or stored.shop_id != principal.shop_id:
            raise NotifyTargetNotFound(f"notify target {target_id} not found")  # deleted meanwhile
        if url is not None:
            stored.url = url
        if secret is not KEEP:
            stored.secret = secret
        if enabled is not None:
            stored.enabled = enabled
    return _view(stored)


async def do_delete_notify_target(db: Database, principal: Principal, target_id: int) -> None:
    check_permission(principal, Permission.ALERTS_MANAGE)
    async with db.transaction() as session:
        row = await session.get(NotifyTargetRow, target_id)
        if row is None or row.shop_id != principal.shop_id:
            raise NotifyTargetNotFound(f"notify target {target_id} not found")
        await session.delete(row)


def probe_message(shop_id: int, target_id: int) -> Message:
    sent_at = utcnow().isoformat()
    return Message(
        title="liveloop 测试消息 / test message",
        markdown=(
            "**liveloop 测试消息**\n这个群将收到直播预警摘要（每分钟最多一条）。\n"
            '<font color="comment">Test message: this channel will receive live alert digests '
            "(at most one a minute).</font>"
        ),
        data={"type": "liveloop.test", "shop_id": shop_id, "target_id": target_id, "sent_at": sent_at},
    )


async def do_send_test_notification(
    db: Database, notifier: Notifier, principal: Principal, target_id: int
) -> Delivery:
    """Send one test message to the target (one try, even when disabled) and return the channel's answer."""
    check_permission(principal, Permission.ALERTS_MANAGE)
    row = await _target_in_shop(db, principal, target_id)
    return await notifier.send(
        _target(row), probe_message(principal.shop_id, row.id), max_attempts=TEST_ATTEMPTS
    )


async def get_enabled_notify_targets(db: Database, shop_id: int) -> list[NotifyTarget]:
    """The shop's enabled targets with their credentials: for senders inside the system, not the API."""
    async with db.read() as session:
        rows = await session.scalars(
            select(NotifyTargetRow)
            .where(NotifyTargetRow.shop_id == shop_id, NotifyTargetRow.enabled.is_(True))
            .order_by(NotifyTargetRow.id)
        )
        return [_target(row) for row in rows]
