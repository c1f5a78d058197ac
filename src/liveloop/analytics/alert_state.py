"""What the alert engine shares between nodes, in Counters: who evaluates a shop, which alerts are up.

**Shop lease.** One node at a time evaluates all live shows of a shop (so one node batches the
shop's digest). The lease is the key ``alerts:lease:{shop}``, created by an ``incr`` with a ttl:
the caller that gets 1 holds it and writes its random node token to ``alerts:lease-owner:{shop}``.
The holder renews both ttls every tick after checking the token is still its own; anyone else's
``incr`` gets more than 1 until the lease lapses (its holder stopped or stalled for a whole ttl),
then exactly one node takes it over. Guarantee: at most one node evaluates a shop per tick, except
within milliseconds of a lapse, when a stalled holder that wakes up may overlap one tick with its
successor; even then the fired-alert keys below keep an alert from firing twice.

**Fired alerts.** A rule fires once per episode: ``alerts:fired:{show}:{rule}:{token}`` is
``incr``-ed on every FIRING verdict and the alert goes out only when that returns 1 (atomic, so
two nodes can never both send it). ``alerts:cur:{show}:{rule}`` remembers which token (the product
explained, or 1 for room-wide rules) is up, so a CLEAR verdict, or another product being explained,
deletes the key and re-arms the rule. Keys expire after a day (a show longer than that may repeat an
alert that is still up, once a day).
"""

from __future__ import annotations

import secrets

from liveloop.analytics.alert_model import Rule, State, Verdict
from liveloop.core.counters import Counters

__all__ = ["FIRED_TTL_SECONDS", "FiredAlerts", "ShopLease"]

FIRED_TTL_SECONDS = 24 * 3600.0
_ROOM_WIDE = 1  # the token of rules that are not about a product


class ShopLease:
    def __init__(self, counters: Counters, *, ttl_seconds: float, token: int | None = None) -> None:
        self._counters = counters
        self._ttl = ttl_seconds
        self.token = token or secrets.randbits(52) + 1
        self._held: set[int] = set()

    @staticmethod
    def _keys(shop_id: int) -> tuple[str, str]:
        return f"alerts:lease:{shop_id}", f"alerts:lease-owner:{shop_id}"

    def holds(self, shop_id: int) -> bool:
        """Whether this node held the shop's lease at its last :meth:`hold` (no round trip)."""
        return shop_id in self._held

    async def hold(self, shop_id: int) -> bool:
        """Renew the lease when this node holds it, else try to take it; True iff held now."""
        lease, owner = self._keys(shop_id)
        if shop_id in self._held:
            if await self._counters.get(owner) == self.token and await self._counters.expire(
                lease, self._ttl
            ):
                await self._counters.expire(owner, self._ttl)
                return True
            self._held.discard(shop_id)
        if await self._counters.incr(lease, 1, ttl_seconds=self._ttl) == 1:
            await self._counters.set(owner, self.token, ttl_seconds=self._ttl)
            self._held.add(shop_id)
            return True
        return False

    async def release(self, shop_id: int) -> None:
        lease, owner = self._keys(shop_id)
        if shop_id in self._held and await self._counters.get(owner) == self.token:
            await self._counters.delete(lease, owner)
        self._held.discard(shop_id)

    async def release_all(self) -> None:
        """Give up every lease this node holds (at shutdown), so another node takes over at once."""
        for shop_id in sorted(self._held):
            await self.release(shop_id)


class FiredAlerts:
    def __init__(self, counters: Counters, *, ttl_seconds: float = FIRED_TTL_SECONDS) -> None:
        self._counters = counters
        self._ttl = ttl_seconds

    @staticmethod
    def _cur(show_id: int, rule: Rule) -> str:
        return f"alerts:cur:{show_id}:{rule.value}"

    @staticmethod
    def _fired(show_id: int, rule: Rule, token: int) -> str:
        return f"alerts:fired:{show_id}:{rule.value}:{token}"

    async def _clear(self, show_id: int, rule: Rule, *, keep: int | None = None) -> None:
        cur_key = self._cur(show_id, rule)
        current = await self._counters.get(cur_key)
        if current and current != keep:
            await self._counters.delete(self._fired(show_id, rule, current), cur_key)

    async def apply(self, show_id: int, verdict: Verdict) -> bool:
        """Record the verdict; True iff it is a FIRING verdict whose alert must go out now."""
        rule = verdict.rule
        if verdict.state is State.FIRING:
            token = verdict.product_id if verdict.product_id is not None else _ROOM_WIDE
            await self._clear(show_id, rule, keep=token)  # another product's episode has ended
            if await self._counters.incr(self._fired(show_id, rule, token), 1, ttl_seconds=self._ttl) == 1:
                await self._counters.set(self._cur(show_id, rule), token, ttl_seconds=self._ttl)
                return True
            return False
        if verdict.state is State.CLEAR:
            await self._clear(show_id, rule)
        elif verdict.product_id is not None:
            # Unknown for the product explained now: an alert about another product has ended.
            await self._clear(show_id, rule, keep=verdict.product_id)
        return False

    async def forget(self, show_id: int) -> None:
        """Drop the show's keys (it is no longer live)."""
        for rule in Rule:
            await self._clear(show_id, rule)
