"""Commerce: the catalog, flash sales (秒杀), coupons (优惠券), orders with expiring reservations, and
payments.

Wire it into the app's lifespan with :func:`commerce_runtime` (it rebuilds the stock counters from
SQL, sweeps expired orders and runs the payment provider); buyers, staff and providers reach it
through the routes in ``commerce.api``.
"""

from liveloop.commerce.context import CommerceContext, OrderPolicy
from liveloop.commerce.contracts import FlashSaleInfo, OrderInfo, ProductInfo
from liveloop.commerce.coupon_events import COUPON_EVENT_TYPES, CouponClaimed, CouponDropped, CouponRedeemed
from liveloop.commerce.coupon_rules import CouponKind, CouponState, CouponTerms, discount_cents
from liveloop.commerce.coupons import OpenCouponDrop, get_open_coupon_drops
from liveloop.commerce.errors import (
    BuyerRequired,
    CouponAlreadyUsed,
    CouponDisabled,
    CouponExpired,
    CouponLimitReached,
    CouponNotApplicable,
    CouponNotFound,
    CouponSoldOut,
    DropClosed,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    IllegalOrderTransition,
    IllegalSaleTransition,
    InvalidCoupon,
    InvalidOrder,
    InvalidSale,
    NotInRoom,
    OrderNotFound,
    OverLimit,
    PaymentAmountMismatch,
    PaymentSignatureInvalid,
    ProductNotFound,
    RoomNotFound,
    SaleEnded,
    SaleNotActive,
    SaleNotFound,
    ShowNotFound,
    SoldOut,
)
from liveloop.commerce.events import (
    EVENT_TYPES,
    SALE_EVENT_TYPES,
    FlashSaleEnded,
    FlashSaleStarted,
    OrderCancelled,
    OrderCreated,
    OrderEventData,
    OrderExpired,
    OrderPaid,
    OrderRefunded,
)
from liveloop.commerce.flash_sales import RoomFlashSale, get_room_flash_sales
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
from liveloop.commerce.presence import RoomPresence, check_present
from liveloop.commerce.runtime import OrderSweeper, commerce_runtime, make_commerce
from liveloop.commerce.service import get_product_infos
from liveloop.commerce.stock import do_rebuild_counters

__all__ = [
    "COUPON_EVENT_TYPES",
    "EVENT_TYPES",
    "SALE_EVENT_TYPES",
    "SIGNATURE_HEADER",
    "SIMULATED_LABEL",
    "BuyerRequired",
    "CommerceContext",
    "CouponAlreadyUsed",
    "CouponClaimed",
    "CouponDisabled",
    "CouponDropped",
    "CouponExpired",
    "CouponKind",
    "CouponLimitReached",
    "CouponNotApplicable",
    "CouponNotFound",
    "CouponRedeemed",
    "CouponSoldOut",
    "CouponState",
    "CouponTerms",
    "DropClosed",
    "FlashSaleEnded",
    "FlashSaleInfo",
    "FlashSaleStarted",
    "IdempotencyKeyInUse",
    "IdempotencyKeyReused",
    "IllegalOrderTransition",
    "IllegalSaleTransition",
    "InvalidCoupon",
    "InvalidOrder",
    "InvalidSale",
    "NotInRoom",
    "OpenCouponDrop",
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
    "RoomFlashSale",
    "RoomNotFound",
    "RoomPresence",
    "SaleEnded",
    "SaleNotActive",
    "SaleNotFound",
    "SaleState",
    "ShowNotFound",
    "SimulatedPayments",
    "SoldOut",
    "check_present",
    "commerce_runtime",
    "discount_cents",
    "do_apply_payment_notice",
    "do_expire_orders",
    "do_place_order",
    "do_rebuild_counters",
    "get_open_coupon_drops",
    "get_product_infos",
    "get_room_flash_sales",
    "make_commerce",
    "sign_notification",
]
