"""Group commit: concurrent units share transactions, a savepoint each, on SQLite and PostgreSQL.

Units write real rows (payment secrets: one per shop, so a second one for the same shop is an
IntegrityError) on the app's own database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from liveloop.commerce.group_commit import GroupCommit
from liveloop.commerce.storage import PaymentSecretRow
from liveloop.core.container import Container
from liveloop.core.db import Database
from liveloop.shops import do_create_shop
from tests.conftest import run_in_app


async def new_shops(db: Database, count: int) -> list[int]:
    return [(await do_create_shop(db, name=f"gc {i}")).shop.id for i in range(count)]


def secret(shop_id: int, value: str = "s") -> Callable[[AsyncSession], Awaitable[int]]:
    async def work(session: AsyncSession) -> int:
        session.add(PaymentSecretRow(shop_id=shop_id, secret=value))
        await session.flush()
        return shop_id

    return work


async def stored(db: Database) -> dict[int, str]:
    async with db.read() as session:
        rows = await session.execute(select(PaymentSecretRow.shop_id, PaymentSecretRow.secret))
        return {int(shop_id): str(value) for shop_id, value in rows}


def commits_of(db: Database) -> list[int]:
    commits: list[int] = []
    event.listen(db.engine.sync_engine, "commit", lambda _conn: commits.append(1))

    def driver_commit(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.strip().upper() == "COMMIT":  # SQLite: the batch's own COMMIT
            commits.append(1)

    event.listen(db.engine.sync_engine, "before_cursor_execute", driver_commit)
    return commits


def test_concurrent_units_share_few_transactions(client: TestClient) -> None:
    async def run(container: Container) -> None:
        db = container.db
        shops = await new_shops(db, 60)
        later = await new_shops(db, 2)
        alone = await new_shops(db, 5)
        writer = GroupCommit(db)
        commits = commits_of(db)
        results = await asyncio.gather(*(writer.run(secret(shop)) for shop in shops))
        assert sorted(results) == sorted(shops)
        assert set(shops) <= set(await stored(db))
        # The first unit alone, then the rest together: 60 units in at most 3 transactions (60 with
        # max_batch=1, see the control below), and at least the one that stored them.
        assert commits, "no commit was seen: the counter is not listening"
        assert len(commits) <= 3, f"{len(commits)} commits for {len(shops)} units"
        # The counter counts every commit: units run one after the other commit one by one.
        batched = len(commits)
        for shop in later:
            await writer.run(secret(shop))
        assert len(commits) == batched + 2
        # The control: the same crowd, one unit per transaction, commits once per unit.
        one_by_one = GroupCommit(db, max_batch=1)
        await asyncio.gather(*(one_by_one.run(secret(shop)) for shop in alone))
        assert len(commits) == batched + 2 + len(alone)

    run_in_app(client, run)


def test_a_failing_unit_rolls_back_alone(client: TestClient) -> None:
    async def run(container: Container) -> None:
        db = container.db
        a, b, c = await new_shops(db, 3)
        undone: list[BaseException] = []

        async def undo(error: BaseException) -> None:
            undone.append(error)

        async def wrote_then_failed(session: AsyncSession) -> int:
            session.add(PaymentSecretRow(shop_id=c, secret="written, then undone"))
            await session.flush()
            raise RuntimeError("changed its mind")

        writer = GroupCommit(db)
        outcomes = await asyncio.gather(
            writer.run(secret(a)),
            writer.run(secret(b, "first")),
            writer.run(secret(b, "twin"), undo=undo),  # the table's key: an IntegrityError
            writer.run(wrote_then_failed, undo=undo),
            writer.run(secret(a + b + c + 10**6), undo=undo),  # no such shop: a foreign key error
            return_exceptions=True,
        )
        assert list(outcomes[:2]) == [a, b]
        assert isinstance(outcomes[2], IntegrityError)
        assert isinstance(outcomes[3], RuntimeError)
        assert isinstance(outcomes[4], IntegrityError)
        assert undone == [outcomes[2], outcomes[3], outcomes[4]]
        rows = await stored(db)
        assert (rows[a], rows[b]) == ("s", "first")
        assert c not in rows  # its savepoint was rolled back, the batch committed

    run_in_app(client, run)


class FailingCommit(Database):
    """The app's database, whose batch transactions fail after the units ran (a lost commit)."""

    @asynccontextmanager
    async def savepoint_transaction(self) -> AsyncIterator[AsyncSession]:
        async with super().savepoint_transaction() as session:
            yield session
            raise ConnectionError("the commit was lost")


def test_a_failed_commit_fails_and_undoes_every_unit(client: TestClient) -> None:
    async def run(container: Container) -> None:
        db = FailingCommit(container.db.engine)
        shops = await new_shops(db, 5)
        undone: list[int] = []

        def undo_of(shop: int) -> Any:
            async def undo(_error: BaseException) -> None:
                undone.append(shop)

            return undo

        writer = GroupCommit(db)
        outcomes = await asyncio.gather(
            *(writer.run(secret(shop), undo=undo_of(shop)) for shop in shops), return_exceptions=True
        )
        assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)
        assert sorted(undone) == sorted(shops)
        assert not set(shops) & set(await stored(container.db))

    run_in_app(client, run)


def test_a_cancelled_caller_is_not_written_and_its_unit_is_undone(client: TestClient) -> None:
    async def run(container: Container) -> None:
        db = container.db
        first, second, third = await new_shops(db, 3)
        undone: list[str] = []
        gate = asyncio.Event()

        async def slow(session: AsyncSession) -> int:
            await gate.wait()  # holds the first batch open while the next units queue
            return await secret(first)(session)

        async def undo(error: BaseException) -> None:
            undone.append(type(error).__name__)

        writer = GroupCommit(db)
        running = asyncio.ensure_future(writer.run(slow))
        await asyncio.sleep(0.05)
        cancelled = asyncio.ensure_future(writer.run(secret(second), undo=undo))
        kept = asyncio.ensure_future(writer.run(secret(third), undo=undo))
        await asyncio.sleep(0)
        cancelled.cancel()
        gate.set()
        assert await running == first
        assert await kept == third
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        await writer.close()
        assert undone == ["CancelledError"]
        rows = await stored(db)
        assert first in rows
        assert third in rows
        assert second not in rows

    run_in_app(client, run)


def test_the_savepoint_transaction_is_one_transaction(client: TestClient) -> None:
    """Nothing is visible outside before the commit, and a failure undoes released savepoints too."""

    async def run(container: Container) -> None:
        db = container.db
        a, b = await new_shops(db, 2)
        seen_inside: dict[int, str] = {}

        async def fail_after_a_released_savepoint() -> None:
            async with db.savepoint_transaction() as session:
                async with session.begin_nested():
                    await secret(a)(session)
                seen_inside.update(await stored(db))  # released, not committed
                raise RuntimeError("the batch fails")

        with pytest.raises(RuntimeError):
            await fail_after_a_released_savepoint()
        assert a not in seen_inside
        assert a not in await stored(db)
        async with db.savepoint_transaction() as session, session.begin_nested():
            await secret(b)(session)
        assert b in await stored(db)
        async with db.read() as session:
            assert await session.scalar(select(func.count()).select_from(PaymentSecretRow)) == 1

    run_in_app(client, run)


def write_secrets(session: Session, shop_ids: list[int]) -> list[int] | None:
    """A set-based writer: all the rows in one go, or None (declined) when any shop id is odd."""
    if any(shop_id % 2 for shop_id in shop_ids):
        session.add_all(PaymentSecretRow(shop_id=s, secret="half-written") for s in shop_ids)
        session.flush()  # written, then declined: the savepoint must take it back
        return None
    session.add_all(PaymentSecretRow(shop_id=s, secret="set-based") for s in shop_ids)
    session.flush()
    return shop_ids


def test_groups_are_written_set_based_and_a_declined_group_one_by_one(client: TestClient) -> None:
    async def run(container: Container) -> None:
        db = container.db
        shops = await new_shops(db, 8)
        even = [s for s in shops if s % 2 == 0]
        mixed = [s for s in shops if s % 2] + even[:1]
        writer = GroupCommit(db, group_writers={"secrets": write_secrets})
        results = await asyncio.gather(
            *(
                writer.run(secret(s, "one by one"), lock_key=(1,), group=("secrets", 1), payload=s)
                for s in even[1:]
            ),
            *(
                writer.run(secret(s, "one by one"), lock_key=(2,), group=("secrets", 2), payload=s)
                for s in mixed
            ),
        )
        assert sorted(results) == sorted(even[1:] + mixed)
        rows = await stored(db)
        assert {rows[s] for s in even[1:]} <= {"set-based"}
        assert {rows[s] for s in mixed} == {"one by one"}  # the declined group's rows were taken back

    run_in_app(client, run)


class FailingRunWrite(Database):
    """The app's database, whose set-based transactions fail (after their writer ran)."""

    async def run_write(self, fn: Callable[[Session], Any]) -> Any:
        raise ConnectionError("the set-based transaction was lost")


def test_a_failed_set_based_transaction_falls_back_to_one_by_one(client: TestClient) -> None:
    async def run(container: Container) -> None:
        db = FailingRunWrite(container.db.engine)
        shops = await new_shops(db, 4)
        writer = GroupCommit(db, group_writers={"secrets": write_secrets})
        results = await asyncio.gather(
            *(
                writer.run(secret(s, "one by one"), lock_key=(1,), group=("secrets", 1), payload=s)
                for s in shops
            )
        )
        assert sorted(results) == sorted(shops)
        assert {(await stored(db))[s] for s in shops} == {"one by one"}

    run_in_app(client, run)
