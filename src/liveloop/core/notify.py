"""The Notifier port: deliver one message to one outbound channel (a WeCom group robot, a webhook).

Guarantees of :meth:`Notifier.send`:

- It never raises for a delivery problem: it returns a :class:`Delivery` saying ``delivered``,
  ``failed_retryable`` (it gave up after its attempts on errors that might pass: timeouts, HTTP 429/5xx,
  WeCom's rate limit) or ``failed_permanent`` (retrying cannot help: a bad key, a 4xx, a bad payload).
- Retries back off (exponentially, with jitter) and respect the channel's own rate limit, which
  the adapter enforces on the client side; all waiting is ``await``-ed, so a send never blocks the
  event loop. Callers that must not wait (the alert engine) run sends in their own tasks.
- At least once, not exactly once: after a timeout the receiver may have got the message, so a
  retry may deliver it twice. Webhook receivers dedupe on the ``X-Liveloop-Delivery`` header.
- A target's ``url`` and ``secret`` are credentials (a WeCom robot's key sits in its URL): adapters
  never log them; they log :meth:`NotifyTarget.safe_url` instead.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request

__all__ = [
    "Delivery",
    "DeliveryStatus",
    "Message",
    "Notifier",
    "NotifierDep",
    "NotifyKind",
    "NotifyTarget",
    "get_notifier",
]


class NotifyKind(StrEnum):
    WECOM = "wecom"  # a WeCom (企业微信) group robot: markdown message, answers errcode
    WEBHOOK = "webhook"  # any HTTPS endpoint: the message as JSON, HMAC-signed when a secret is set


@dataclass(frozen=True, slots=True)
class NotifyTarget:
    kind: NotifyKind
    url: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)
    id: int | None = None  # the stored target's id, for logs

    def safe_url(self) -> str:
        """The URL without its query (where WeCom keeps the robot's key) and credentials: for logs."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"


@dataclass(frozen=True, slots=True)
class Message:
    """What to say, in the two shapes channels take.

    ``markdown`` is what a person reads (WeCom renders it; adapters trim it to the channel's byte
    limit). ``data`` is the machine form a webhook receives as its JSON body (it must be JSON-able).
    """

    title: str
    markdown: str
    data: Mapping[str, Any] = field(default_factory=dict)


class DeliveryStatus(StrEnum):
    DELIVERED = "delivered"
    FAILED_RETRYABLE = "failed_retryable"
    FAILED_PERMANENT = "failed_permanent"


@dataclass(frozen=True, slots=True)
class Delivery:
    status: DeliveryStatus
    attempts: int
    #: What the channel answered last: the HTTP status, or WeCom's ``errcode`` when it sent one.
    code: int | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status is DeliveryStatus.DELIVERED


class Notifier(abc.ABC):
    """Sends messages to outbound channels (see the module doc for the guarantees)."""

    @abc.abstractmethod
    async def send(
        self, target: NotifyTarget, message: Message, *, max_attempts: int | None = None
    ) -> Delivery:
        """Deliver ``message`` to ``target``, retrying up to ``max_attempts`` (the adapter's default
        when None); never raises for delivery failures."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections; idempotent."""


def get_notifier(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.notifier
    return notifier


NotifierDep = Annotated[Notifier, Depends(get_notifier)]
