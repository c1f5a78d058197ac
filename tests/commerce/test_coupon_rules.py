"""Coupon rules (pure): what each kind takes off, the terms each kind needs, validity windows, states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liveloop.commerce import CouponKind, CouponState, CouponTerms, InvalidCoupon, discount_cents
from liveloop.commerce.coupon_events import COUPON_EVENT_TYPES, CouponClaimed, CouponDropped, CouponRedeemed
from liveloop.commerce.coupon_rules import (
    MIN_PAYABLE_CENTS,
    Validity,
    check_terms,
    check_validity,
    coupon_state,
    coupon_window,
    qualifies,
)
from liveloop.core.events import Event, make_event

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
AMOUNT = CouponKind.AMOUNT_OFF
PERCENT = CouponKind.PERCENT_OFF
THRESHOLD = CouponKind.THRESHOLD


@pytest.mark.parametrize(
    ("terms", "amount", "expected"),
    [
        (CouponTerms(AMOUNT, amount_off_cents=500), 8900, 500),
        (CouponTerms(AMOUNT, amount_off_cents=500), 300, 299),  # never below one fen to pay
        (CouponTerms(AMOUNT, amount_off_cents=500), 1, 0),
        (CouponTerms(AMOUNT, amount_off_cents=500), 0, 0),
        (CouponTerms(PERCENT, percent=20), 8900, 1780),
        (CouponTerms(PERCENT, percent=15), 999, 149),  # 149.85 rounds down
        (CouponTerms(PERCENT, percent=50, max_discount_cents=1000), 8900, 1000),  # the cap
        (CouponTerms(PERCENT, percent=50, max_discount_cents=1000), 1500, 750),  # under the cap
        (CouponTerms(PERCENT, percent=99), 100, 99),
        (CouponTerms(THRESHOLD, threshold_cents=20000, amount_off_cents=3000), 19999, 0),  # 满200减30
        (CouponTerms(THRESHOLD, threshold_cents=20000, amount_off_cents=3000), 20000, 3000),
        (CouponTerms(THRESHOLD, threshold_cents=20000, amount_off_cents=3000), 45000, 3000),
    ],
)
def test_discount_per_kind(terms: CouponTerms, amount: int, expected: int) -> None:
    check_terms(terms)
    assert discount_cents(terms, amount) == expected


def test_threshold_qualifies_only_at_or_above_it() -> None:
    terms = CouponTerms(THRESHOLD, threshold_cents=20000, amount_off_cents=3000)
    assert not qualifies(terms, 19999)
    assert qualifies(terms, 20000)
    assert qualifies(CouponTerms(AMOUNT, amount_off_cents=1), 1)


terms_strategy = st.one_of(
    st.builds(
        CouponTerms,
        kind=st.just(AMOUNT),
        amount_off_cents=st.integers(1, 10**9),
    ),
    st.builds(
        CouponTerms,
        kind=st.just(PERCENT),
        percent=st.integers(1, 99),
        max_discount_cents=st.none() | st.integers(1, 10**9),
    ),
    st.integers(2, 10**9).flatmap(
        lambda threshold: st.builds(
            CouponTerms,
            kind=st.just(THRESHOLD),
            threshold_cents=st.just(threshold),
            amount_off_cents=st.integers(1, threshold - 1),
        )
    ),
)


@given(terms=terms_strategy, amount=st.integers(0, 10**11))
def test_a_discount_never_exceeds_the_amount_nor_goes_negative(terms: CouponTerms, amount: int) -> None:
    check_terms(terms)
    discount = discount_cents(terms, amount)
    assert 0 <= discount <= amount
    paid = amount - discount
    assert paid + discount == amount
    if amount >= MIN_PAYABLE_CENTS:
        assert paid >= MIN_PAYABLE_CENTS  # a coupon never makes an order free
    if not qualifies(terms, amount):
        assert discount == 0
    if terms.kind is PERCENT:
        assert discount <= amount * (terms.percent or 0) // 100
        if terms.max_discount_cents is not None:
            assert discount <= terms.max_discount_cents
    else:
        assert discount <= (terms.amount_off_cents or 0)


@given(terms=terms_strategy, low=st.integers(0, 10**9), extra=st.integers(0, 10**9))
def test_a_bigger_order_never_gets_a_smaller_discount(terms: CouponTerms, low: int, extra: int) -> None:
    assert discount_cents(terms, low + extra) >= discount_cents(terms, low)


@pytest.mark.parametrize(
    "terms",
    [
        CouponTerms(AMOUNT),
        CouponTerms(AMOUNT, amount_off_cents=100, percent=10),
        CouponTerms(AMOUNT, amount_off_cents=0),
        CouponTerms(PERCENT),
        CouponTerms(PERCENT, percent=100),
        CouponTerms(PERCENT, percent=10, threshold_cents=100),
        CouponTerms(THRESHOLD, amount_off_cents=100),
        CouponTerms(THRESHOLD, threshold_cents=100),
        CouponTerms(THRESHOLD, threshold_cents=100, amount_off_cents=100),
        CouponTerms(THRESHOLD, threshold_cents=100, amount_off_cents=50, max_discount_cents=10),
    ],
)
def test_terms_that_do_not_add_up_are_refused(terms: CouponTerms) -> None:
    with pytest.raises(InvalidCoupon):
        check_terms(terms)


def test_validity_windows() -> None:
    fixed = check_validity(Validity(valid_until=NOW + timedelta(days=7)), now=NOW)
    assert (fixed.valid_from, fixed.valid_until) == (NOW, NOW + timedelta(days=7))
    claimed = NOW + timedelta(hours=1)
    assert coupon_window(fixed, claimed_at=claimed) == (NOW, NOW + timedelta(days=7))
    rolling = check_validity(Validity(valid_days=3), now=NOW)
    assert coupon_window(rolling, claimed_at=claimed) == (claimed, claimed + timedelta(days=3))
    bad = [
        Validity(),
        Validity(valid_until=NOW + timedelta(days=1), valid_days=1),
        Validity(valid_from=NOW, valid_days=1),
        Validity(valid_days=0),
        Validity(valid_days=366),
        Validity(valid_until=NOW - timedelta(seconds=1)),
        Validity(valid_from=NOW + timedelta(days=2), valid_until=NOW + timedelta(days=1)),
        Validity(valid_until=NOW + timedelta(days=400)),
    ]
    for validity in bad:
        with pytest.raises(InvalidCoupon):
            check_validity(validity, now=NOW)


def test_coupon_states() -> None:
    until = NOW + timedelta(days=1)
    assert coupon_state(used_order_id=None, redeemed_at=None, valid_until=until, now=NOW) is (
        CouponState.AVAILABLE
    )
    assert coupon_state(used_order_id=1, redeemed_at=None, valid_until=until, now=NOW) is CouponState.IN_USE
    assert coupon_state(used_order_id=1, redeemed_at=NOW, valid_until=until, now=until) is (
        CouponState.REDEEMED
    )
    assert coupon_state(used_order_id=None, redeemed_at=None, valid_until=until, now=until) is (
        CouponState.EXPIRED
    )


def test_coupon_events_round_trip_through_the_envelope() -> None:
    payloads = [
        CouponDropped(
            drop_id=1,
            template_id=2,
            name="满200减30",
            kind=THRESHOLD,
            quantity=50,
            expires_at=NOW,
            amount_off_cents=3000,
            threshold_cents=20000,
        ),
        CouponClaimed(drop_id=1, template_id=2, coupon_id=3),
        CouponRedeemed(coupon_id=3, template_id=2, order_id=4, discount_cents=3000),
    ]
    assert set(COUPON_EVENT_TYPES) == {"coupon.dropped", "coupon.claimed", "coupon.redeemed"}
    for payload in payloads:
        event = make_event(payload, shop_id=1, room_id=5, show_id=6, actor="u:alice")
        wire = Event.model_validate_json(event.model_dump_json())
        assert COUPON_EVENT_TYPES[wire.type].model_validate(wire.data) == payload
    assert payloads[0].model_dump(mode="json")["expires_at"] == "2026-12-01T12:00:00Z"
