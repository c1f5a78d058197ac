"""Shared alert state in Counters: an alert fires once per episode (re-arms when clear); shop leases."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liveloop.adapters.memory import MemoryCounters
from liveloop.analytics.alert_model import Rule, State, Verdict
from liveloop.analytics.alert_state import FiredAlerts, ShopLease
from liveloop.core.counters import Counters
from tests.analytics.conftest import FakeClock

LOW, DROP = Rule.LOW_CTR_EXPLAINING, Rule.TRAFFIC_DROP


def firing(rule: Rule, product: int | None = None) -> Verdict:
    return Verdict(rule, State.FIRING, product)


@pytest.mark.anyio
async def test_a_rule_fires_once_while_it_holds_and_again_after_it_cleared(shared_counters: Counters) -> None:
    fired = FiredAlerts(shared_counters)
    assert await fired.apply(1, firing(DROP)) is True
    assert await fired.apply(1, firing(DROP)) is False  # still holds: no refire
    assert await fired.apply(1, Verdict(DROP, State.UNKNOWN)) is False  # unknown changes nothing
    assert await fired.apply(1, firing(DROP)) is False
    assert await fired.apply(1, Verdict(DROP, State.CLEAR)) is False  # clears: re-arms
    assert await fired.apply(1, firing(DROP)) is True
    # Another show and another rule are separate.
    assert await fired.apply(2, firing(DROP)) is True
    assert await fired.apply(1, firing(Rule.CONVERSION_STALL)) is True


@pytest.mark.anyio
async def test_low_ctr_is_per_product_and_ends_when_another_product_is_explained(
    shared_counters: Counters,
) -> None:
    fired = FiredAlerts(shared_counters)
    assert await fired.apply(1, firing(LOW, 7)) is True
    assert await fired.apply(1, firing(LOW, 7)) is False
    # Product 8 explained next (too few exposures yet): 7's episode is over.
    assert await fired.apply(1, Verdict(LOW, State.UNKNOWN, 8)) is False
    assert await fired.apply(1, firing(LOW, 7)) is True  # 7 explained again, still low: a new alert
    assert await fired.apply(1, firing(LOW, 8)) is True  # straight from 7 to 8 low: 8 fires
    assert await fired.apply(1, firing(LOW, 7)) is True  # and 7 was re-armed by it
    # Unknown about the product that is up keeps it up.
    assert await fired.apply(1, Verdict(LOW, State.UNKNOWN, 7)) is False
    assert await fired.apply(1, firing(LOW, 7)) is False


@pytest.mark.anyio
async def test_two_nodes_applying_the_same_firing_verdict_send_it_once(shared_counters: Counters) -> None:
    a, b = FiredAlerts(shared_counters), FiredAlerts(shared_counters)
    results = await asyncio.gather(*(node.apply(5, firing(LOW, 3)) for node in (a, b) for _ in range(10)))
    assert sum(results) == 1


@pytest.mark.anyio
async def test_forget_rearms_every_rule_of_the_show(shared_counters: Counters) -> None:
    fired = FiredAlerts(shared_counters)
    for rule in Rule:
        assert await fired.apply(9, firing(rule, 4 if rule is LOW else None))
    await fired.forget(9)
    for rule in Rule:
        assert await fired.apply(9, firing(rule, 4 if rule is LOW else None))


verdicts = st.lists(
    st.tuples(st.sampled_from(list(State)), st.sampled_from([None, 1, 2, 3])), min_size=1, max_size=40
)


@settings(max_examples=200, deadline=None)
@given(verdicts)
def test_low_ctr_fires_exactly_when_a_model_of_episodes_says_so(
    sequence: list[tuple[State, int | None]],
) -> None:
    """Model: at most one product is 'up'. FIRING(p) fires iff p is not up (then p is up);
    CLEAR takes any product down; UNKNOWN(p) takes down a product other than p."""

    async def run() -> None:
        fired = FiredAlerts(MemoryCounters(clock=FakeClock()))
        up: int | None = None
        for state, product in sequence:
            verdict = Verdict(LOW, state, product)
            if state is State.FIRING and product is None:
                continue  # low CTR always names the product explained
            expected = False
            if state is State.FIRING:
                expected, up = up != product, product
            elif state is State.CLEAR or (product is not None and up != product):
                up = None
            assert await fired.apply(1, verdict) is expected, (sequence, state, product)

    asyncio.run(run())


@pytest.mark.anyio
async def test_one_node_holds_a_shop_lease_and_keeps_it_by_renewing(
    shared_counters: Counters,
) -> None:
    a = ShopLease(shared_counters, ttl_seconds=30)
    b = ShopLease(shared_counters, ttl_seconds=30)
    results = await asyncio.gather(a.hold(1), b.hold(1))
    assert sorted(results) == [False, True]
    holder, other = (a, b) if results[0] else (b, a)
    for _ in range(3):
        assert list(await asyncio.gather(holder.hold(1), other.hold(1))) == [True, False]
    assert holder.holds(1)
    assert not other.holds(1)
    # A shop of its own is free for the other node.
    assert await other.hold(2) is True
    # Released (shutdown): the other node takes over at once.
    await holder.release_all()
    assert await other.hold(1) is True
    assert await holder.hold(1) is False


@pytest.mark.anyio
async def test_a_lapsed_lease_passes_to_one_other_node(fake_clock: FakeClock) -> None:
    counters = MemoryCounters(clock=fake_clock)
    a, b, c = (ShopLease(counters, ttl_seconds=30) for _ in range(3))
    assert await a.hold(1) is True
    fake_clock.advance(29)
    assert [await b.hold(1), await c.hold(1)] == [False, False]
    fake_clock.advance(2)  # a stalled past the ttl
    assert sorted([await b.hold(1), await c.hold(1)]) == [False, True]
    assert await a.hold(1) is False  # a wakes up: its token is no longer the owner's
    assert not a.holds(1)
