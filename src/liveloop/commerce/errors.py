"""Stable error codes of the commerce domain."""

from __future__ import annotations

from liveloop.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated


class ProductNotFound(NotFound):
    code = "commerce.product_not_found"


class SkuTaken(Conflict):
    code = "commerce.sku_taken"


class InvalidPrice(InvalidInput):
    code = "commerce.invalid_price"


class SaleNotFound(NotFound):
    code = "commerce.sale_not_found"


class ShowNotFound(NotFound):
    code = "commerce.show_not_found"


class InvalidSale(InvalidInput):
    code = "commerce.invalid_sale"


class IllegalSaleTransition(Conflict):
    code = "commerce.illegal_sale_transition"


class SaleNotActive(Conflict):
    """The sale has not started yet (its countdown is running)."""

    code = "commerce.sale_not_active"


class SaleEnded(Conflict):
    code = "commerce.sale_ended"


class SoldOut(Conflict):
    code = "commerce.sold_out"


class OverLimit(Conflict):
    """The buyer already holds their per-user limit of this sale (a second grab)."""

    code = "commerce.over_limit"


class InvalidOrder(InvalidInput):
    code = "commerce.invalid_order"


class BuyerRequired(Unauthenticated):
    """Only a shop's signed-in user (a viewer token) buys: not a guest, not staff."""

    code = "commerce.buyer_required"


class IdempotencyKeyInUse(Conflict):
    """Another request with this key is still running; retry it shortly."""

    code = "commerce.idempotency_key_in_use"


class IdempotencyKeyReused(Conflict):
    """The key already placed a different order."""

    code = "commerce.idempotency_key_reused"


class OrderNotFound(NotFound):
    code = "commerce.order_not_found"


class IllegalOrderTransition(Conflict):
    code = "commerce.illegal_order_transition"


class PaymentSignatureInvalid(Unauthenticated):
    code = "commerce.payment_signature_invalid"


class PaymentAmountMismatch(Conflict):
    code = "commerce.payment_amount_mismatch"


class RoomNotFound(NotFound):
    code = "commerce.room_not_found"


# -- coupons (优惠券) ------------------------------------------------------------------------------


class InvalidCoupon(InvalidInput):
    """A template's or a drop's terms do not add up (a percent without a percent, ...)."""

    code = "coupon.invalid"


class CouponNotFound(NotFound):
    """No such template, drop or coupon in this shop (or, for a coupon, of this buyer)."""

    code = "coupon.not_found"


class CouponDisabled(Conflict):
    code = "coupon.disabled"


class CouponSoldOut(Conflict):
    """The drop's first N claimers (or the template's total quantity) are all served."""

    code = "coupon.sold_out"


class CouponLimitReached(Conflict):
    """The buyer holds the template's per-user limit already, or one coupon of this drop."""

    code = "coupon.limit_reached"


class CouponExpired(Conflict):
    code = "coupon.expired"


class CouponNotApplicable(Conflict):
    """The order does not qualify: below the threshold, another product, or not valid yet."""

    code = "coupon.not_applicable"


class CouponAlreadyUsed(Conflict):
    code = "coupon.already_used"


class DropClosed(Conflict):
    """The drop's claim window is over (or its template was disabled)."""

    code = "coupon.drop_closed"


class NotInRoom(Forbidden):
    """The viewer is not in the drop's room now (no heartbeat within the presence window): a drop is
    for the room's audience. Red packets refuse with it too."""

    code = "rooms.not_present"
