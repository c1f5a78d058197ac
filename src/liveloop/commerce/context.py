"""What the order use cases run on: one per process, built by :func:`commerce.runtime.make_commerce`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from liveloop.commerce.coupon_cache import CouponCache
from liveloop.commerce.group_commit import GroupCommit
from liveloop.commerce.order_batch import write_payments, write_sale_wins
from liveloop.commerce.payments import Payments
from liveloop.commerce.stock import StockCache
from liveloop.core.counters import Counters
from liveloop.core.db import Database
from liveloop.core.events import EventBus


@dataclass(frozen=True, slots=True)
class OrderPolicy:
    """Knobs of the order flow (the lead maps them to ``Settings`` fields)."""

    #: How long a created order holds its units before the sweeper expires it (saleor's reserved_until).
    reservation_seconds: float = 15 * 60
    #: When the simulated provider confirms a payment; None = never (nobody pays).
    simulated_payment_delay_seconds: float | None = 2.0
    #: How often the sweeper looks for expired orders; None = no sweeper.
    sweep_interval_seconds: float | None = 5.0
    #: How long a request waits for a concurrent one with the same idempotency key.
    idempotency_wait_seconds: float = 3.0
    #: Flash-sale orders on the full path (SQL reads, the grab, the write) at once in this process;
    #: the rest wait, and ask the stock again when their turn comes (see ``do_place_order``).
    max_sale_orders_in_flight: int = 64


@dataclass(eq=False)
class CommerceContext:
    db: Database
    counters: Counters
    events: EventBus
    payments: Payments
    policy: OrderPolicy = field(default_factory=OrderPolicy)
    stock: StockCache = field(init=False)
    coupons: CouponCache = field(init=False)
    #: The process's one writer of new orders (group commit).
    orders: GroupCommit = field(init=False)
    #: The turns of flash-sale orders on the full path (``OrderPolicy.max_sale_orders_in_flight``).
    sale_turns: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self.stock = StockCache(self.db, self.counters)
        self.coupons = CouponCache(self.db, self.counters)
        self.sale_turns = asyncio.Semaphore(self.policy.max_sale_orders_in_flight)
        self.orders = GroupCommit(
            self.db, group_writers={"sale": write_sale_wins, "payments": write_payments}
        )
