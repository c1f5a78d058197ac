"""Writing grabbed shares to SQL with group commit: the grabs of one packet that arrive while its write
is in flight are written together, in one transaction, by whichever of them gets the lock next.

Each grab still gets its own answer, and only after the transaction holding its share has committed.
The UPDATE of every share is conditional (unclaimed, not returned), so a batch never pays a share
twice. On SQLite this also keeps one writer per packet per node instead of a crowd of them queueing on
the database lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from liveloop.core.db import Database
from liveloop.interactions.node_memo import NodeMemos
from liveloop.interactions.service import InteractionsContext
from liveloop.interactions.storage import RedPacketShareRow

__all__ = ["Outcome", "claim_share"]

_Share = RedPacketShareRow
# Executed on the connection (plain executemany), not through the ORM's bulk UPDATE by primary key.
_CLAIM = (
    update(_Share)
    .where(
        _Share.packet_id == bindparam("b_packet"),
        _Share.index == bindparam("b_index"),
        _Share.viewer_id.is_(None),
        _Share.returned_at.is_(None),
    )
    .values(viewer_id=bindparam("b_viewer"), nickname=bindparam("b_nickname"), grabbed_at=bindparam("b_at"))
)


class Outcome(StrEnum):
    CLAIMED = "claimed"
    RETURNED = "returned"  # the packet expired: its free shares went back
    TAKEN = "taken"  # the share was not free: the counters disagree with SQL
    HOLDER = "holder"  # SQL already gives this viewer a share of the packet


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    amount_cents: int = 0


@dataclass(slots=True)
class _Claim:
    index: int
    viewer_id: str
    nickname: str
    at: datetime
    future: asyncio.Future[Result] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class _Writer:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.pending: list[_Claim] = []


_writers: NodeMemos[_Writer] = NodeMemos()


async def claim_share(
    ctx: InteractionsContext, packet_id: int, *, index: int, viewer_id: str, nickname: str, at: datetime
) -> Result:
    """Give share ``index`` to the viewer in SQL (committed when this returns CLAIMED)."""
    memo = _writers.of(ctx.cache)
    writer = memo.get(packet_id)
    if writer is None:
        writer = _Writer()
        memo.put(packet_id, writer)
    claim = _Claim(index=index, viewer_id=viewer_id, nickname=nickname[:100], at=at)
    writer.pending.append(claim)
    async with writer.lock:
        if not claim.future.done():
            batch, writer.pending = writer.pending, []
            # Shielded: the others in the batch wait on this write even if this grab is cancelled.
            await asyncio.shield(_write(ctx.db, packet_id, batch))
    return claim.future.result()


async def _write(db: Database, packet_id: int, batch: list[_Claim]) -> None:
    """Settle every claim of ``batch``: one transaction, or one each when a viewer already holds a share."""
    try:
        try:
            await _write_together(db, packet_id, batch)
        except IntegrityError:
            for claim in batch:
                try:
                    await _write_together(db, packet_id, [claim])
                except IntegrityError:
                    claim.future.set_result(Result(Outcome.HOLDER))
    except Exception as exc:
        for claim in batch:
            if not claim.future.done():
                claim.future.set_exception(exc)
        raise


async def _write_together(db: Database, packet_id: int, batch: Sequence[_Claim]) -> None:
    params = [
        {
            "b_packet": packet_id,
            "b_index": c.index,
            "b_viewer": c.viewer_id,
            "b_nickname": c.nickname,
            "b_at": c.at,
        }
        for c in batch
    ]
    async with db.transaction() as session:
        connection = await session.connection()
        await connection.execute(_CLAIM, params)
        rows = await connection.execute(
            select(_Share.index, _Share.viewer_id, _Share.amount_cents, _Share.returned_at).where(
                _Share.packet_id == packet_id, _Share.index.in_([c.index for c in batch])
            )
        )
        found = {index: (viewer, amount, returned) for index, viewer, amount, returned in rows}
    for claim in batch:
        viewer, amount, returned = found.get(claim.index, (None, 0, None))
        if viewer == claim.viewer_id:
            claim.future.set_result(Result(Outcome.CLAIMED, int(amount)))
        elif returned is not None:
            claim.future.set_result(Result(Outcome.RETURNED))
        else:
            claim.future.set_result(Result(Outcome.TAKEN))
