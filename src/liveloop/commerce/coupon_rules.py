"""Coupon rules (pure): the kinds of coupon, what each takes off an order, when a coupon is valid.

Kinds: ``amount_off`` (立减, a fixed amount), ``percent_off`` (折扣, 1-99 % with an optional cap) and
``threshold`` (满减: a fixed amount off orders of at least ``threshold_cents``). A discount is integer
cents, never negative, and always leaves the buyer ``MIN_PAYABLE_CENTS`` to pay (payment providers
refuse a zero amount), so ``amount - discount`` is what the order costs and is never below that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from liveloop.commerce.errors import InvalidCoupon

#: An order paid with a coupon still costs at least this much (one fen, 0.01 元).
MIN_PAYABLE_CENTS = 1
MAX_VALID_DAYS = 365
MAX_VALIDITY = timedelta(days=MAX_VALID_DAYS)


class CouponKind(StrEnum):
    AMOUNT_OFF = "amount_off"
    PERCENT_OFF = "percent_off"
    THRESHOLD = "threshold"


class CouponState(StrEnum):
    AVAILABLE = "available"
    IN_USE = "in_use"  # held by an unpaid order; released if that order is cancelled or expires
    REDEEMED = "redeemed"  # its order was paid
    EXPIRED = "expired"


class DropState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # the window is over, or every coupon of the drop is claimed


@dataclass(frozen=True, slots=True)
class CouponTerms:
    kind: CouponKind
    amount_off_cents: int | None = None
    percent: int | None = None
    max_discount_cents: int | None = None
    threshold_cents: int | None = None


def check_terms(terms: CouponTerms) -> None:
    """Raise InvalidCoupon unless the fields ``terms.kind`` needs are there, and only those."""
    given = {
        name
        for name in ("amount_off_cents", "percent", "max_discount_cents", "threshold_cents")
        if getattr(terms, name) is not None
    }
    needed, allowed = {
        CouponKind.AMOUNT_OFF: ({"amount_off_cents"}, {"amount_off_cents"}),
        CouponKind.PERCENT_OFF: ({"percent"}, {"percent", "max_discount_cents"}),
        CouponKind.THRESHOLD: (
            {"threshold_cents", "amount_off_cents"},
            {"threshold_cents", "amount_off_cents"},
        ),
    }[terms.kind]
    if missing := needed - given:
        raise InvalidCoupon(f"a {terms.kind.value} coupon needs {', '.join(sorted(missing))}")
    if extra := given - allowed:
        raise InvalidCoupon(f"a {terms.kind.value} coupon has no {', '.join(sorted(extra))}")
    for name in given:
        if getattr(terms, name) < 1:
            raise InvalidCoupon(f"{name} must be at least 1")
    if terms.percent is not None and not 1 <= terms.percent <= 99:
        raise InvalidCoupon("percent must be 1 to 99")
    off, threshold = terms.amount_off_cents or 0, terms.threshold_cents or 0
    if terms.kind is CouponKind.THRESHOLD and off >= threshold:
        raise InvalidCoupon("a threshold coupon takes off less than its threshold (满 200 减 30)")


def qualifies(terms: CouponTerms, amount_cents: int) -> bool:
    """Whether an order of ``amount_cents`` (before the discount) may use the coupon at all."""
    if terms.kind is CouponKind.THRESHOLD:
        return amount_cents >= (terms.threshold_cents or 0)
    return True


def discount_cents(terms: CouponTerms, amount_cents: int) -> int:
    """What the coupon takes off an order of ``amount_cents``: 0 when it does not qualify; never more
    than leaves ``MIN_PAYABLE_CENTS`` to pay. Percentages round down (the buyer never gets a fraction
    of a fen)."""
    if amount_cents <= MIN_PAYABLE_CENTS or not qualifies(terms, amount_cents):
        return 0
    if terms.kind is CouponKind.PERCENT_OFF:
        raw = amount_cents * (terms.percent or 0) // 100
        if terms.max_discount_cents is not None:
            raw = min(raw, terms.max_discount_cents)
    else:
        raw = terms.amount_off_cents or 0
    return max(0, min(raw, amount_cents - MIN_PAYABLE_CENTS))


@dataclass(frozen=True, slots=True)
class Validity:
    """When a template's coupons may be used: a fixed window, or ``valid_days`` from each claim."""

    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: int | None = None


def check_validity(validity: Validity, *, now: datetime) -> Validity:
    """The validity to store (a fixed window starts now unless told), or InvalidCoupon."""
    if (validity.valid_until is None) == (validity.valid_days is None):
        raise InvalidCoupon("give exactly one of valid_until and valid_days")
    if validity.valid_days is not None:
        if validity.valid_from is not None:
            raise InvalidCoupon("valid_from goes with valid_until, not valid_days")
        if not 1 <= validity.valid_days <= MAX_VALID_DAYS:
            raise InvalidCoupon(f"valid_days must be 1 to {MAX_VALID_DAYS}")
        return validity
    start = validity.valid_from or now
    end = validity.valid_until
    assert end is not None
    if end <= start or end <= now:
        raise InvalidCoupon("valid_until must be after valid_from and in the future")
    if end - start > MAX_VALIDITY:
        raise InvalidCoupon(f"a coupon is valid for at most {MAX_VALID_DAYS} days")
    return Validity(valid_from=start, valid_until=end)


def coupon_window(validity: Validity, *, claimed_at: datetime) -> tuple[datetime, datetime]:
    """A claimed coupon's (valid_from, valid_until)."""
    if validity.valid_days is not None:
        return claimed_at, claimed_at + timedelta(days=validity.valid_days)
    assert validity.valid_from is not None
    assert validity.valid_until is not None
    return validity.valid_from, validity.valid_until


def coupon_state(
    *, used_order_id: int | None, redeemed_at: datetime | None, valid_until: datetime, now: datetime
) -> CouponState:
    if redeemed_at is not None:
        return CouponState.REDEEMED
    if used_order_id is not None:
        return CouponState.IN_USE
    if now >= valid_until:
        return CouponState.EXPIRED
    return CouponState.AVAILABLE
