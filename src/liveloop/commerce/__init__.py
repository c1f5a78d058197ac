"""Commerce: the catalog, flash sales (秒杀), orders with expiring reservations, and payments.

Wire it into the app's lifespan with :func:`commerce_runtime` (it rebuilds the stock counters from
SQL, sweeps expired orders and runs the payment provider); buyers, staff and providers reach it
through the routes in ``commerce.api``.
"""

from liveloop.commerce.context import CommerceContext, OrderPolicy
from liveloop.commerce.contracts import FlashSaleInfo, OrderInfo, ProductInfo
from liveloop.commerce.errors import (
    BuyerRequired,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    IllegalOrderTransition,
    IllegalSaleTransition,
    InvalidOrder,
    InvalidSale,
    OrderNotFound,
    OverLimit,
    PaymentAmountMismatch,
    PaymentSignatureInvalid,
    ProductNotFound,
    SaleEnded,
    SaleNotActive,
    SaleNotFound,
    ShowNotFound,
    SoldOut,
)
from liveloop.commerce.events import (
    EVENT_TYPES,
    OrderCancelled,
    OrderCreated,
    OrderEventData,
    OrderExpired,
    OrderPaid,
    OrderRefunded,
)
from liveloop.commerce.lifecycle import do_apply_payment_notice, do_expire_orders
from liveloop.commerce.model import OrderState, SaleState
from liveloop.commerce.orders import OrderRequest, do_place_order
from liveloop.commerce.payments import (
    SIGNATURE_HEADER,
    SIMULATED_LABEL,
    PaymentIntent,
    PaymentNotice,
    PaymentOutcome,
    Payments,
    SimulatedPayments,
    sign_notification,
)
from liveloop.commerce.runtime import OrderSweeper, commerce_runtime, make_commerce
from liveloop.commerce.service import get_product_infos
from liveloop.commerce.stock import do_rebuild_counters

__all__ = [
    "EVENT_TYPES",
    "SIGNATURE_HEADER",
    "SIMULATED_LABEL",
    "BuyerRequired",
    "CommerceContext",
    "FlashSaleInfo",
    "IdempotencyKeyInUse",
    "IdempotencyKeyReused",
    "IllegalOrderTransition",
    "IllegalSaleTransition",
    "InvalidOrder",
    "InvalidSale",
    "OrderCancelled",
    "OrderCreated",
    "OrderEventData",
    "OrderExpired",
    "OrderInfo",
    "OrderNotFound",
    "OrderPaid",
    "OrderPolicy",
    "OrderRefunded",
    "OrderRequest",
    "OrderState",
    "OrderSweeper",
    "OverLimit",
    "PaymentAmountMismatch",
    "PaymentIntent",
    "PaymentNotice",
    "PaymentOutcome",
    "PaymentSignatureInvalid",
    "Payments",
    "ProductInfo",
    "ProductNotFound",
    "SaleEnded",
    "SaleNotActive",
    "SaleNotFound",
    "SaleState",
    "ShowNotFound",
    "SimulatedPayments",
    "SoldOut",
    "commerce_runtime",
    "do_apply_payment_notice",
    "do_expire_orders",
    "do_place_order",
    "do_rebuild_counters",
    "get_product_infos",
    "make_commerce",
    "sign_notification",
]
