"""Splitting a red packet (红包) into shares: pure arithmetic on integer cents, no I/O.

The split is "double average" (二倍均值): with ``R`` cents left for ``L`` shares, the next share is
uniform in ``[1, 2R // L - 1]`` (an expectation of about ``R / L``), capped so that every share still to
come keeps at least one cent; the last share takes what is left. So each share is at least 1 cent
(0.01 yuan), none is far above twice the average, and the shares sum exactly to the total.

The shares are then shuffled, so the order in which they are handed out says nothing about their
size. Drawn with ``secrets.SystemRandom`` (the OS's CSPRNG) nobody, not even someone who saw earlier
shares, can predict a share before it is grabbed.
"""

from __future__ import annotations

import random

from liveloop.interactions.errors import InvalidRedPacket, RedPacketTooSmall

__all__ = ["MAX_SHARES", "MAX_TOTAL_CENTS", "MIN_SHARE_CENTS", "check_red_packet", "split_red_packet"]

MIN_SHARE_CENTS = 1
MAX_SHARES = 100_000
MAX_TOTAL_CENTS = 100_000_000  # 1,000,000 yuan


def check_red_packet(*, total_cents: int, count: int) -> None:
    """Raise unless ``count`` shares of at least one cent can be cut from ``total_cents``."""
    if not 1 <= count <= MAX_SHARES:
        raise InvalidRedPacket(f"a red packet has 1 to {MAX_SHARES} shares")
    if not 1 <= total_cents <= MAX_TOTAL_CENTS:
        raise InvalidRedPacket(f"a red packet holds 1 to {MAX_TOTAL_CENTS} cents")
    if total_cents < count * MIN_SHARE_CENTS:
        raise RedPacketTooSmall(
            f"{count} shares need at least {count * MIN_SHARE_CENTS} cents (each share is 0.01 yuan or more)",
            details={"min_total_cents": count * MIN_SHARE_CENTS},
        )


def split_red_packet(total_cents: int, count: int, rng: random.Random) -> list[int]:
    """``count`` shares in cents, each >= 1, summing to ``total_cents``, in random order.

    Pass ``secrets.SystemRandom()`` in production; a seeded ``random.Random`` makes tests repeatable.
    """
    check_red_packet(total_cents=total_cents, count=count)
    shares: list[int] = []
    left_cents = total_cents
    for left in range(count, 1, -1):
        # Invariant: left_cents >= left, so both bounds are >= 1.
        high = min(2 * left_cents // left - 1, left_cents - (left - 1) * MIN_SHARE_CENTS)
        share = rng.randint(MIN_SHARE_CENTS, high)
        shares.append(share)
        left_cents -= share
    shares.append(left_cents)
    rng.shuffle(shares)
    return shares
