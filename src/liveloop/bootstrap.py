"""The composition root: the only module that chooses adapters."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import structlog
from redis.asyncio import Redis
from sqlalchemy import text

from liveloop import migrate
from liveloop.analytics import EventIngest
from liveloop.core.broker import Broker
from liveloop.core.container import Container, HealthCheck
from liveloop.core.counters import Counters
from liveloop.core.db import Database, create_engine
from liveloop.core.events import EventBus
from liveloop.core.eventstore import EventStore
from liveloop.core.notify import Notifier
from liveloop.core.rtc import RtcIssuerFactory
from liveloop.settings import Settings

log = structlog.get_logger(__name__)


class NotMigrated(RuntimeError):
    """The database schema is behind the code and may not be migrated automatically."""


async def prepare_database(settings: Settings) -> Database:
    """Open the SQL store and make sure its schema is at head (migrating if allowed)."""
    if settings.is_embedded:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.resolved_database_url)
    try:
        if not await migrate.is_up_to_date(engine):
            if not settings.should_auto_migrate:
                raise NotMigrated(
                    "the database is not migrated to the current schema: run `liveloop migrate` "
                    "(or set LIVELOOP_AUTO_MIGRATE=1)"
                )
            log.info("migrating database", url=engine.url.render_as_string(hide_password=True))
            await migrate.upgrade(engine)
    except BaseException:
        await engine.dispose()
        raise
    return Database(engine)


def _db_check(db: Database) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    return check


def _redis_check(redis: Redis) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        await redis.ping()

    return check


def rtc_issuer_factory() -> RtcIssuerFactory:
    """RTC token issuers (LiveKit or Agora), built per shop from its configuration."""
    from liveloop.adapters.rtc import make_rtc_issuer

    return make_rtc_issuer


def make_event_store(settings: Settings, *, read_only: bool = False) -> EventStore | None:
    """The event store the settings ask for, not yet opened (None when it is turned off)."""
    kind = settings.resolved_event_store
    if kind == "duckdb":
        from liveloop.adapters.duckdb import DuckDBEventStore

        return DuckDBEventStore(settings.event_store_path, read_only=read_only)
    if kind == "postgres":
        if settings.is_embedded:
            raise ValueError("LIVELOOP_EVENT_STORE=postgres needs LIVELOOP_DATABASE_URL to be PostgreSQL")
        from liveloop.adapters.sql import PostgresEventStore

        return PostgresEventStore(settings.resolved_database_url)
    return None


@asynccontextmanager
async def build_container(settings: Settings) -> AsyncIterator[Container]:
    """Open every adapter the settings ask for; close them all on exit."""
    async with AsyncExitStack() as stack:
        db = await prepare_database(settings)
        stack.push_async_callback(db.dispose)
        checks: list[HealthCheck] = [HealthCheck("database", _db_check(db))]
        if settings.redis_url:
            from liveloop.adapters.redis import RedisBroker, RedisCounters, make_redis

            redis = make_redis(settings.redis_url)
            stack.push_async_callback(redis.aclose)
            counters: Counters = RedisCounters(redis, namespace=settings.redis_namespace)
            broker: Broker = RedisBroker(redis, namespace=settings.redis_namespace)
            checks.append(HealthCheck("redis", _redis_check(redis)))
        else:
            from liveloop.adapters.memory import MemoryBroker, MemoryBus, MemoryCounters

            counters = MemoryCounters(namespace="liveloop")
            broker = MemoryBroker(MemoryBus())
        await broker.start()
        stack.push_async_callback(broker.close)
        stack.push_async_callback(counters.close)
        events = EventBus()
        event_store = make_event_store(settings)
        if event_store is not None:
            await event_store.open()
            stack.push_async_callback(event_store.close)
            ingest = EventIngest(
                event_store,
                flush_seconds=settings.event_flush_seconds,
                max_buffer=settings.event_buffer_max,
            )
            await ingest.start()
            stack.push_async_callback(ingest.close)  # after the bus drained into it, before the store closes
            events.subscribe(ingest)
        await events.start()
        stack.push_async_callback(events.close)
        yield Container(
            settings=settings,
            db=db,
            counters=counters,
            broker=broker,
            events=events,
            checks=tuple(checks),
            event_store=event_store,
        )


@asynccontextmanager
async def open_notifier(counters: Counters, *, allow_private_hosts: bool = False) -> AsyncIterator[Notifier]:
    """The outbound channels (WeCom robots, webhooks) over HTTP; WeCom's rate limit kept in ``counters``."""
    from liveloop.adapters.notify import HttpNotifier

    notifier = HttpNotifier(counters, allow_private_hosts=allow_private_hosts)
    try:
        yield notifier
    finally:
        await notifier.close()
