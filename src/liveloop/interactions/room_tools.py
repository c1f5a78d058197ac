"""What a room shows of its live tools right now: the state a viewer who opens the room starts from.

The room socket's snapshot carries recent comments only; open polls, red packets and lotteries
arrived as stream items before the viewer joined. The viewer page reads this once when it renders
and applies later items on top. No principal: the room is public, like its socket.
"""

from __future__ import annotations

from dataclasses import dataclass

from liveloop.interactions.lottery import Lottery, get_active_lottery
from liveloop.interactions.poll_rules import Poll, PollTally
from liveloop.interactions.poll_votes import get_tally
from liveloop.interactions.polls import get_open_polls
from liveloop.interactions.redpacket import RedPacket, get_open_red_packets
from liveloop.interactions.service import InteractionsContext


@dataclass(frozen=True, slots=True)
class RoomTools:
    polls: tuple[tuple[Poll, PollTally], ...]  # open polls with their live counts, oldest first
    red_packets: tuple[RedPacket, ...]  # packets that can still be grabbed, oldest first
    lottery: Lottery | None  # the lottery taking entries or being drawn


async def get_room_tools(ctx: InteractionsContext, *, shop_id: int, room_id: int) -> RoomTools:
    """The room's open tools (RoomNotFound unless the room is the shop's)."""
    polls = await get_open_polls(ctx, shop_id=shop_id, room_id=room_id)
    tallies = [await get_tally(ctx, poll_id=poll.id) for poll in polls]
    return RoomTools(
        polls=tuple(zip(polls, tallies, strict=True)),
        red_packets=tuple(await get_open_red_packets(ctx, shop_id=shop_id, room_id=room_id)),
        lottery=await get_active_lottery(ctx, shop_id=shop_id, room_id=room_id),
    )
