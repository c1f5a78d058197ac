"""Commerce in the app's lifespan: rebuild the counters, sweep expired orders (and end flash sales
whose time is up), run the payment provider.

Wire it inside ``bootstrap.build_container``::

    async with commerce_runtime(container) as commerce:
        app.state.commerce = commerce
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import structlog

from liveloop.commerce.context import CommerceContext, OrderPolicy
from liveloop.commerce.coupon_cache import do_rebuild_coupon_counters
from liveloop.commerce.flash_sales import do_end_due_sales
from liveloop.commerce.lifecycle import do_apply_payment_notice, do_expire_orders
from liveloop.commerce.payments import Payments, SimulatedPayments
from liveloop.commerce.stock import do_rebuild_counters
from liveloop.core.container import Container
from liveloop.core.db import utcnow

log = structlog.get_logger(__name__)


def make_commerce(
    container: Container, *, policy: OrderPolicy | None = None, payments: Payments | None = None
) -> CommerceContext:
    """A context on the container's store, counters and bus; the simulated provider unless given one."""
    policy = policy or OrderPolicy()
    provider = payments or SimulatedPayments(delay_seconds=policy.simulated_payment_delay_seconds)
    ctx = CommerceContext(
        db=container.db,
        counters=container.counters,
        events=container.events,
        payments=provider,
        policy=policy,
    )
    if isinstance(provider, SimulatedPayments):
        provider.attach(partial(do_apply_payment_notice, ctx))
    return ctx


class OrderSweeper:
    """Expires unpaid orders past ``reserved_until`` every ``interval`` seconds, until stopped, and
    marks flash sales past ``ends_at`` ended (emitting ``flash_sale.ended``).

    Safe on every node at once: each expiry is a compare-and-set, so two sweepers never expire (nor
    release) one order twice, nor end one sale twice.
    """

    def __init__(self, ctx: CommerceContext, *, interval: float) -> None:
        self._ctx = ctx
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="order-sweeper")

    async def sweep_once(self) -> int:
        ctx = self._ctx
        now = utcnow()
        await do_end_due_sales(ctx.db, now=now, events=ctx.events)
        expired = await do_expire_orders(ctx.db, ctx.counters, now=now, events=ctx.events)
        return len(expired)

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if await self.sweep_once():
                    continue  # a full batch may have more behind it
            except Exception:
                log.exception("order sweep failed; retrying next tick")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self._interval)

    async def stop(self) -> None:
        """Stop after the sweep in progress (cancelling mid-transaction could leak its connection)."""
        if self._task is None:
            return
        self._stop.set()
        await self._task
        self._task = None


@asynccontextmanager
async def commerce_runtime(
    container: Container, *, policy: OrderPolicy | None = None, payments: Payments | None = None
) -> AsyncIterator[CommerceContext]:
    """Rebuild stock and coupon counters from SQL, then sweep expired orders until the app stops."""
    ctx = make_commerce(container, policy=policy, payments=payments)
    await do_rebuild_counters(ctx.db, ctx.counters)
    await do_rebuild_coupon_counters(ctx.db, ctx.counters)
    sweeper = None
    if ctx.policy.sweep_interval_seconds is not None:
        sweeper = OrderSweeper(ctx, interval=ctx.policy.sweep_interval_seconds)
        sweeper.start()
    try:
        yield ctx
    finally:
        if sweeper is not None:
            await sweeper.stop()
        await ctx.orders.close()  # the orders already queued are written
        await ctx.payments.close()
