"""Group commit: the winning grabs of a process written by one writer, many per transaction.

A flash sale's winners arrive together. One transaction each pays, per order, a pool checkout, a
session, BEGIN and COMMIT (and on PostgreSQL a WAL flush per commit). :class:`GroupCommit` queues
each unit of work; one writer task writes everything queued so far, then answers the callers.
While it writes, the next batch queues. A batch is written in up to two transactions:

1. Set-based: the units of each ``group`` (e.g. the winners of one flash sale; consecutive in
   ``lock_key`` order) are offered together, as their ``payload``s, to the synchronous group writer
   of the group's kind (its first element), each group inside one SAVEPOINT, all groups in ONE
   transaction (``Database.run_write``: on SQLite one hand-off to a writer thread, so the write
   lock is not held across turns of a busy event loop). A group writer that returns None (or
   raises) is rolled back to its savepoint; its units go to step 2.
2. One by one: every other unit (a coroutine function of an ``AsyncSession``), each inside its own
   SAVEPOINT, in ONE transaction (``Database.savepoint_transaction``).

- A unit that raises is rolled back to its savepoint alone; its caller gets the exception, the
  others commit. If step 1's transaction fails as a whole, its units go to step 2 (a unit already
  committed then meets the unique index that makes it idempotent); if step 2's does, every unit
  in it fails.
- ``undo(error)`` of a unit that did not commit is awaited by the writer before its caller hears of
  it, whether or not the caller still waits: compensation (giving back a reserved unit) never
  depends on the caller, which may have been cancelled meanwhile. A cancelled caller's unit that
  has not started is not written.
- Units run in the order of their ``lock_key``: every writer takes row locks in one order, so two
  nodes' batches cannot deadlock on the rows their first statements lock.
- The writer task exists while there is work and ends when the queue is empty.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from liveloop.core.db import Database

__all__ = ["MAX_BATCH", "GroupCommit"]

log = structlog.get_logger(__name__)

T = TypeVar("T")
Undo = Callable[[BaseException], Awaitable[None]]
#: Writes the payloads of one group's units together (synchronously): their results in order, or None.
GroupWriter = Callable[[Session, list[Any]], Sequence[Any] | None]

#: Units per transaction at most (bounds how long one transaction holds its locks).
MAX_BATCH = 256


@dataclass(slots=True)
class _Unit:
    work: Callable[[AsyncSession], Awaitable[Any]]
    undo: Undo | None
    lock_key: tuple[int, ...]
    group: tuple[Hashable, ...] | None
    payload: Any
    future: asyncio.Future[Any]


class _GroupRefused(Exception):
    """The group writer declined: roll its savepoint back."""


class GroupCommit:
    """Concurrent units of work written together (see the module docstring). One per process."""

    def __init__(
        self,
        db: Database,
        *,
        max_batch: int = MAX_BATCH,
        group_writers: Mapping[Hashable, GroupWriter] | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._db = db
        self._max_batch = max_batch
        self._group_writers = dict(group_writers or {})
        self._queue: deque[_Unit] = deque()
        self._writer: asyncio.Task[None] | None = None

    async def run(
        self,
        work: Callable[[AsyncSession], Awaitable[T]],
        *,
        lock_key: tuple[int, ...] = (),
        undo: Undo | None = None,
        group: tuple[Hashable, ...] | None = None,
        payload: Any = None,
    ) -> T:
        """``work(session)``'s result once the batch it ran in has committed; its exception if it
        raised (after ``undo``). ``lock_key`` orders the units of a batch (the rows they lock);
        units of one ``group`` (with equal ``lock_key``) may be written together from their
        ``payload`` by the group writer, whose result for this unit must equal ``work``'s."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.append(_Unit(work, undo, lock_key, group, payload, future))
        if self._writer is None:
            self._writer = loop.create_task(self._write(), name="group-commit")
        return await future

    async def close(self) -> None:
        """Write what is queued, then return (the writer ends by itself once the queue is empty)."""
        writer = self._writer
        if writer is not None:
            await asyncio.shield(writer)

    async def _write(self) -> None:
        try:
            while self._queue:
                count = min(self._max_batch, len(self._queue))
                batch = [self._queue.popleft() for _ in range(count)]
                await self._write_batch(batch)
        finally:
            if self._writer is asyncio.current_task():
                self._writer = None

    async def _write_batch(self, batch: list[_Unit]) -> None:
        live = sorted((u for u in batch if not u.future.cancelled()), key=lambda u: u.lock_key)
        outcomes: list[tuple[_Unit, Any, BaseException | None]] = [
            (u, None, asyncio.CancelledError()) for u in batch if u.future.cancelled()
        ]
        written: list[tuple[_Unit, Any, BaseException | None]] = []
        try:
            rest = await self._write_groups(live, written)
            if rest:
                written += await self._write_one_by_one(rest)
        except BaseException as exc:  # cancelled (shutdown): answer what is left, then stop
            done = {id(unit) for unit, _, _ in written}
            await self._answer(outcomes + written + [(u, None, exc) for u in live if id(u) not in done])
            raise
        await self._answer(outcomes + written)

    async def _write_groups(
        self, live: list[_Unit], written: list[tuple[_Unit, Any, BaseException | None]]
    ) -> list[_Unit]:
        """Step 1: the groups set-based; the units left for step 2, in ``lock_key`` order."""
        runs = self._runs(live)
        grouped = [run for run in runs if run[0].group is not None and run[0].group[0] in self._group_writers]
        if not grouped:
            return live
        try:
            results = await self._db.run_write(lambda session: self._write_runs(session, grouped))
        except Exception as exc:  # noqa: BLE001 - nothing of step 1 is known written: step 2 decides
            log.warning("set-based write failed; writing one by one", error=repr(exc))
            results = [None] * len(grouped)
        left = {id(unit) for unit in live}
        for run, result in zip(grouped, results, strict=True):
            if result is not None:
                written.extend((unit, value, None) for unit, value in zip(run, result, strict=True))
                left -= {id(unit) for unit in run}
        return [unit for unit in live if id(unit) in left]

    def _write_runs(self, session: Session, runs: list[list[_Unit]]) -> list[Sequence[Any] | None]:
        """Each run through its group writer, in a savepoint of its own (synchronous)."""
        results: list[Sequence[Any] | None] = []
        for run in runs:
            group = run[0].group
            assert group is not None
            try:
                with session.begin_nested():
                    result = self._group_writers[group[0]](session, [unit.payload for unit in run])
                    if result is None or len(result) != len(run):
                        raise _GroupRefused
            except Exception as exc:  # noqa: BLE001 - step 2 gives each of these units its answer
                if not isinstance(exc, _GroupRefused):
                    log.debug("set-based write declined; writing one by one", error=repr(exc))
                results.append(None)
            else:
                results.append(result)
        return results

    async def _write_one_by_one(self, units: list[_Unit]) -> list[tuple[_Unit, Any, BaseException | None]]:
        """Step 2: each unit in its own savepoint of one transaction."""
        written: list[tuple[_Unit, Any, BaseException | None]] = []
        try:
            async with self._db.savepoint_transaction() as session:
                for unit in units:
                    try:
                        async with session.begin_nested():
                            result = await unit.work(session)
                    except Exception as exc:  # noqa: BLE001 - this unit's answer; the batch goes on
                        written.append((unit, None, exc))
                    else:
                        written.append((unit, result, None))
        except Exception as exc:  # noqa: BLE001 - nothing of this transaction was committed
            return [(unit, None, exc) for unit in units]
        return written

    @staticmethod
    def _runs(units: list[_Unit]) -> list[list[_Unit]]:
        """The units in order, consecutive units of one group together."""
        runs: list[list[_Unit]] = []
        for unit in units:
            if runs and unit.group is not None and runs[-1][0].group == unit.group:
                runs[-1].append(unit)
            else:
                runs.append([unit])
        return runs

    @staticmethod
    async def _answer(outcomes: list[tuple[_Unit, Any, BaseException | None]]) -> None:
        for unit, result, error in outcomes:
            if error is not None and unit.undo is not None:
                try:
                    await unit.undo(error)
                except Exception:  # logged; the caller still hears its own error
                    log.exception("undoing a failed unit of work failed")
            if unit.future.done():  # the caller stopped waiting
                continue
            if error is None:
                unit.future.set_result(result)
            elif isinstance(error, asyncio.CancelledError):
                unit.future.cancel()
            else:
                unit.future.set_exception(error)
