"""The payment a new order starts: the provider is asked to collect, the payment row recorded.

Called by ``commerce.orders`` once the order committed. The row goes through the group commit
(``commerce.group_commit``): a sale's winners record their payments together, set-based
(``commerce.order_batch.write_payments``).
"""

from __future__ import annotations

import contextlib

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from liveloop.commerce.context import CommerceContext
from liveloop.commerce.contracts import OrderInfo
from liveloop.commerce.order_batch import NewPayment
from liveloop.commerce.order_views import PaymentView, intent_view
from liveloop.commerce.storage import PaymentRow

__all__ = ["do_start_payment"]

log = structlog.get_logger(__name__)


async def do_start_payment(ctx: CommerceContext, order: OrderInfo) -> PaymentView | None:
    """Ask the provider to collect; a provider that fails leaves the order to expire."""
    try:
        intent = await ctx.payments.create_payment(order)
    except Exception:
        log.exception("payment provider failed; the order will expire unpaid", order_id=order.id)
        return None

    payment = NewPayment(
        shop_id=order.shop_id,
        order_id=order.id,
        provider=intent.provider,
        provider_ref=intent.provider_ref,
        amount_cents=intent.amount_cents,
    )

    async def record(session: AsyncSession) -> bool:
        session.add(
            PaymentRow(
                shop_id=payment.shop_id,
                order_id=payment.order_id,
                provider=payment.provider,
                provider_ref=payment.provider_ref,
                amount_cents=payment.amount_cents,
            )
        )
        await session.flush()
        return True

    # Through the group commit too: a sale's winners record their payments together. An
    # IntegrityError: the provider's notice was faster and recorded the payment already.
    with contextlib.suppress(IntegrityError):
        await ctx.orders.run(record, lock_key=(0, 0), group=("payments",), payload=payment)
    return intent_view(intent)
