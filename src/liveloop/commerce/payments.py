"""The Payments port, its embedded simulator, and the signing of payment notifications.

A provider is asked to collect an order's amount (:meth:`Payments.create_payment`); its verdict comes
back later as a :class:`PaymentNotice`, through ``POST /api/v1/payments/notify/{provider}`` signed
with the shop's payment secret (``X-Liveloop-Signature: sha256=<hex HMAC-SHA256 of the raw body>``),
or, for the simulator, by a direct call of the same handler. Notices may arrive more than once and
in any order; applying them is idempotent (``commerce.lifecycle.do_apply_payment_notice``).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

import structlog

from liveloop.commerce.contracts import OrderInfo
from liveloop.commerce.errors import PaymentSignatureInvalid
from liveloop.commerce.storage import PaymentSecretRow
from liveloop.core.db import Database, utcnow
from liveloop.shops import Permission, Principal, check_permission

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Liveloop-Signature"
SIMULATED_LABEL = "SIMULATED — no money moves"


class PaymentOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class PaymentState(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"


@dataclass(frozen=True, slots=True)
class PaymentIntent:
    """What the buyer's app needs to pay: the provider's reference and, for real providers, a URL."""

    provider: str
    provider_ref: str
    amount_cents: int
    simulated: bool = False
    label: str = ""
    pay_url: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentNotice:
    """A provider's verdict on one payment, already authenticated."""

    provider: str
    provider_ref: str
    shop_id: int
    order_id: int
    outcome: PaymentOutcome
    amount_cents: int
    raw: dict[str, Any] = field(default_factory=dict)


NoticeHandler = Callable[[PaymentNotice], Awaitable[object]]


class Payments(abc.ABC):
    """A payment provider. ``create_payment`` starts a collection and returns at once; the outcome is
    delivered later as a :class:`PaymentNotice`, at least once. Refunds are asked for after the order
    moved to ``refunded``."""

    name: ClassVar[str]

    @abc.abstractmethod
    async def create_payment(self, order: OrderInfo) -> PaymentIntent:
        """Ask the provider to collect ``order.amount_cents`` for ``order``."""

    @abc.abstractmethod
    async def refund_payment(self, order: OrderInfo, *, provider_ref: str) -> None:
        """Ask the provider to pay ``order.amount_cents`` back."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop what the adapter runs in the background."""


class SimulatedPayments(Payments):
    """SIMULATED — no money moves. The embedded default, for demos and development.

    Every payment "succeeds" (or ends with ``outcome``) ``delay_seconds`` after it was created, by
    calling the same notice handler a real provider's signed notification reaches. ``delay_seconds``
    None never answers (a buyer who does not pay; the order expires). Refunds move nothing either.
    """

    name = "simulated"

    def __init__(
        self, *, delay_seconds: float | None = 2.0, outcome: PaymentOutcome = PaymentOutcome.SUCCEEDED
    ) -> None:
        self.delay_seconds = delay_seconds
        self.outcome = outcome
        self._handler: NoticeHandler | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def attach(self, handler: NoticeHandler) -> None:
        self._handler = handler

    async def create_payment(self, order: OrderInfo) -> PaymentIntent:
        ref = f"sim_{order.id}_{secrets.token_hex(6)}"
        if self.delay_seconds is not None and self._handler is not None:
            notice = PaymentNotice(
                provider=self.name,
                provider_ref=ref,
                shop_id=order.shop_id,
                order_id=order.id,
                outcome=self.outcome,
                amount_cents=order.amount_cents,
                raw={"simulated": True, "note": SIMULATED_LABEL},
            )
            task = asyncio.create_task(self._answer(self._handler, notice, self.delay_seconds))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return PaymentIntent(
            provider=self.name,
            provider_ref=ref,
            amount_cents=order.amount_cents,
            simulated=True,
            label=SIMULATED_LABEL,
        )

    async def _answer(self, handler: NoticeHandler, notice: PaymentNotice, delay: float) -> None:
        await asyncio.sleep(delay)
        try:
            await handler(notice)
        except Exception as exc:  # noqa: BLE001 - e.g. the buyer cancelled first: the notice is moot
            log.info("simulated payment not applied", order_id=notice.order_id, error=str(exc))

    async def refund_payment(self, order: OrderInfo, *, provider_ref: str) -> None:
        log.info("simulated refund (no money moves)", order_id=order.id, provider_ref=provider_ref)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task


def sign_notification(secret: str, raw: bytes) -> str:
    """The ``X-Liveloop-Signature`` value a provider sends with ``raw``."""
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def check_signature(signature: str | None, raw: bytes, secrets_: list[str]) -> None:
    """Raise PaymentSignatureInvalid unless ``signature`` signs ``raw`` with one of ``secrets_``."""
    if not signature or not secrets_:
        raise PaymentSignatureInvalid(f"missing or unverifiable {SIGNATURE_HEADER}")
    valid = [hmac.compare_digest(sign_notification(secret, raw), signature.strip()) for secret in secrets_]
    if not any(valid):
        raise PaymentSignatureInvalid(f"{SIGNATURE_HEADER} does not match the body")


async def get_payment_secrets(db: Database, shop_id: int) -> list[str]:
    """The shop's valid notification secrets, newest first (empty until the owner creates one)."""
    async with db.read() as session:
        row = await session.get(PaymentSecretRow, shop_id)
    if row is None:
        return []
    return [row.secret] + ([row.previous_secret] if row.previous_secret else [])


async def do_rotate_payment_secret(db: Database, principal: Principal) -> str:
    """Create or replace the shop's payment secret; the previous one stays valid until the next rotation."""
    check_permission(principal, Permission.SHOP_MANAGE)
    secret = secrets.token_urlsafe(32)
    async with db.transaction() as session:
        row = await session.get(PaymentSecretRow, principal.shop_id)
        if row is None:
            session.add(PaymentSecretRow(shop_id=principal.shop_id, secret=secret))
        else:
            row.previous_secret, row.secret, row.rotated_at = row.secret, secret, utcnow()
    return secret
