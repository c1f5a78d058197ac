"""The shops' viewer-token keys, cached in the process: a token check without a SQL read.

Every buyer and viewer request carries a viewer token, and verifying it needs its shop's current
and previous viewer keys. :class:`ViewerKeyCache` keeps them per shop for ``ttl_seconds``
(:data:`VIEWER_KEY_TTL_SECONDS`, 5 s), so a crowd of buyers costs one SQL read per shop and period
instead of one per request.

Key rotation (``POST /api/v1/shop/rotate-viewer-key``: the current key becomes the previous one, a
new key the current one) keeps these guarantees on every process:

- a token signed with the NEW key is accepted at once: a signature that matches none of the cached
  keys makes the cache reload that shop's keys from SQL before the token is refused;
- a key rotated OUT (two rotations ago) stops verifying within ``ttl_seconds``: until then, a
  process whose cached keys predate the second rotation still accepts its tokens.

A token with a bad signature costs one SQL read, as it did without the cache.

Under steady traffic the keys are re-read in the background once an entry is half its TTL old,
while requests keep using it; so a crowd never waits, every ``ttl_seconds``, behind one SQL read
that may itself wait for a busy database. An entry whose TTL ran out is never used: requests wait
for the read (the rotation guarantee above does not depend on the background read).

A token once verified is remembered with the keys that verified it (up to
:data:`MAX_VERIFIED_TOKENS`): a viewer's next requests (the page's order polls, coupon claims,
reconnects) skip the signature check, about 175 µs of PyJWT on a slow core, as long as the shop's
cached keys are still those keys (a rotation, once seen, verifies again) and the token's ``exp``
has not passed by the wall clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import select

from liveloop.core.db import Database
from liveloop.shops import credentials
from liveloop.shops.errors import InvalidViewerToken, ViewerKeyMismatch
from liveloop.shops.storage import ShopRow

__all__ = ["VIEWER_KEY_TTL_SECONDS", "ViewerKeyCache"]

log = structlog.get_logger(__name__)

#: How long a process trusts the viewer keys it read: the longest a rotated-out key still works.
VIEWER_KEY_TTL_SECONDS = 5.0
#: Shops whose keys one process keeps at most (then it starts over).
MAX_CACHED_SHOPS = 10_000
#: Verified tokens one process remembers at most (then it starts over): about 1 KiB each.
MAX_VERIFIED_TOKENS = 20_000


@dataclass(eq=False)
class ViewerKeyCache:
    """Per-shop viewer keys read from SQL at most once per ``ttl_seconds`` (and on a key mismatch)."""

    db: Database
    ttl_seconds: float = VIEWER_KEY_TTL_SECONDS
    clock: Callable[[], float] = time.monotonic
    #: The clock a token's ``exp`` is compared with (seconds since the epoch).
    wall_clock: Callable[[], float] = time.time
    _keys: dict[int, tuple[float, tuple[str, ...]]] = field(default_factory=dict, repr=False)
    #: token -> (its shop, the keys it was verified with, its claims)
    _verified: dict[str, tuple[int, tuple[str, ...], dict[str, Any]]] = field(
        default_factory=dict, repr=False
    )
    _loading: dict[int, asyncio.Future[tuple[str, ...]]] = field(default_factory=dict, repr=False)
    _refreshing: dict[int, asyncio.Task[None]] = field(default_factory=dict, repr=False)

    async def verify(self, token: str, shop_id: int) -> dict[str, Any]:
        """The token's claims, checked against shop ``shop_id``'s keys (see the module docstring)."""
        cached, now = self._keys.get(shop_id), self.clock()
        if cached is not None and now < cached[0]:
            if now >= cached[0] - self.ttl_seconds / 2:
                self._refresh_soon(shop_id)
            seen = self._verified.get(token)
            if seen is not None and seen[0] == shop_id and seen[1] == cached[1]:
                if seen[2]["exp"] > self.wall_clock():
                    return seen[2]
                del self._verified[token]  # expired: PyJWT says so, with its own error
            try:
                claims = credentials.verify_viewer_token(token, shop_id=shop_id, keys=cached[1])
            except ViewerKeyMismatch:
                pass  # perhaps signed with a key newer than this cache: ask SQL once
            else:
                self._remember(token, shop_id, cached[1], claims)
                return claims
        keys, joined = await self._load_once(shop_id)
        try:
            claims = credentials.verify_viewer_token(token, shop_id=shop_id, keys=keys)
        except ViewerKeyMismatch:
            if not joined:
                raise
            # The read this call joined may have started before a rotation that signed the token.
            keys = await self._load(shop_id)
            claims = credentials.verify_viewer_token(token, shop_id=shop_id, keys=keys)
        self._remember(token, shop_id, keys, claims)
        return claims

    def _remember(self, token: str, shop_id: int, keys: tuple[str, ...], claims: dict[str, Any]) -> None:
        if len(self._verified) >= MAX_VERIFIED_TOKENS:
            self._verified.clear()
        self._verified[token] = (shop_id, keys, claims)

    def _refresh_soon(self, shop_id: int) -> None:
        if shop_id in self._refreshing or shop_id in self._loading:
            return

        async def refresh() -> None:
            try:
                await self._load_once(shop_id)
            except Exception:  # the entry expires in time; a request then reads (and raises) itself
                log.warning("viewer key refresh failed", shop_id=shop_id, exc_info=True)
            finally:
                del self._refreshing[shop_id]

        self._refreshing[shop_id] = asyncio.get_running_loop().create_task(refresh())

    async def _load_once(self, shop_id: int) -> tuple[tuple[str, ...], bool]:
        """The shop's keys, and whether they came from a read another call had started."""
        pending = self._loading.get(shop_id)
        if pending is not None:  # a crowd arriving together makes one read, not one each
            return await asyncio.shield(pending), True
        future: asyncio.Future[tuple[str, ...]] = asyncio.get_running_loop().create_future()
        self._loading[shop_id] = future
        try:
            keys = await self._load(shop_id)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs "never retrieved"
            raise
        else:
            future.set_result(keys)
            return keys, False
        finally:
            del self._loading[shop_id]

    async def _load(self, shop_id: int) -> tuple[str, ...]:
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(ShopRow.viewer_key, ShopRow.viewer_key_previous).where(ShopRow.id == shop_id)
                )
            ).first()
        if row is None:
            self._keys.pop(shop_id, None)
            raise InvalidViewerToken("viewer token names an unknown shop")
        current, previous = row
        keys = (current, previous) if previous else (current,)
        if self.ttl_seconds > 0:
            if len(self._keys) >= MAX_CACHED_SHOPS and shop_id not in self._keys:
                self._keys.clear()
            self._keys[shop_id] = (self.clock() + self.ttl_seconds, keys)
        return keys
