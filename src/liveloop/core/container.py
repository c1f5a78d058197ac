"""The running app's parts, built by ``bootstrap`` and reached from routes by dependency."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from liveloop.core.db import Database
from liveloop.core.events import EventBus
from liveloop.settings import Settings

if TYPE_CHECKING:
    from liveloop.core.broker import Broker
    from liveloop.core.counters import Counters
    from liveloop.core.eventstore import EventStore


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """A readiness probe: ``probe`` raises when the dependency does not answer."""

    name: str
    probe: Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Container:
    settings: Settings
    db: Database
    counters: Counters
    broker: Broker
    events: EventBus
    checks: tuple[HealthCheck, ...] = ()
    #: Where every event is appended (None when ``LIVELOOP_EVENT_STORE=none``).
    event_store: EventStore | None = None


async def get_container(request: Request) -> Container:
    """The app's container. ``async`` although it awaits nothing: FastAPI runs a plain ``def``
    dependency in its thread pool, a thread hop on every request that uses it."""
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]
