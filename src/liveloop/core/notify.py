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
- Unless private hosts are allowed (``LIVELOOP_NOTIFY_ALLOW_PRIVATE_HOSTS``, for on-premise installs
  and tests), a send to a host that is or resolves to a non-public address (loopback, private,
  link-local such as the cloud metadata service, ...) is refused as ``failed_permanent``: a shop's
  staff choose these URLs, and the server must not become their way into its own network (SSRF).
  :func:`check_public_url` is the one rule, applied when a target is saved and again at each send,
  since what a name resolves to may change. A send then connects to an address it checked
  (:func:`pinned_request`), not to what a second DNS lookup might answer (DNS rebinding).
"""

from __future__ import annotations

import abc
import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request

__all__ = [
    "Delivery",
    "DeliveryStatus",
    "Message",
    "NonPublicAddress",
    "Notifier",
    "NotifierDep",
    "NotifyKind",
    "NotifyTarget",
    "Resolver",
    "check_public_url",
    "get_notifier",
    "is_public_address",
    "pinned_request",
    "resolve_host",
]

#: How long a save or a send waits for DNS before taking the name as unresolvable.
RESOLVE_TIMEOUT_SECONDS = 5.0
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


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


class NonPublicAddress(Exception):
    """The URL's host is, or resolves to, an address liveloop does not send to."""

    def __init__(self, host: str, address: str) -> None:
        shown = host if host == address else f"{host} ({address})"
        super().__init__(f"{shown} is not a public internet address")
        self.host = host
        self.address = address


Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (OSError when it does not resolve)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_SECONDS
        )
    except TimeoutError:
        raise OSError(f"resolving {host} timed out") from None
    return [str(info[4][0]) for info in infos]


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address; False for loopback, private, link-local,
    shared (CGNAT), reserved, multicast and unspecified ones, and for IPv6 forms that embed such
    an IPv4 address (mapped, 6to4, NAT64)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 scope id (fe80::1%eth0)
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not is_public_address(str(embedded)):
            return False
    return ip.is_global and not ip.is_multicast


async def check_public_url(url: str, *, resolve: Resolver = resolve_host) -> list[str]:
    """The addresses ``url``'s host stands for, all public; NonPublicAddress when one is not.

    A literal IP is checked as it is; a name is resolved (OSError when it does not resolve, which
    the caller decides about: a save may accept it, a send cannot go anywhere anyway).
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = await resolve(host, port)
        if not addresses:
            raise OSError(f"{host} resolves to no address")
    for address in addresses:
        if not is_public_address(address):
            raise NonPublicAddress(host, address)
    return addresses


@dataclass(frozen=True, slots=True)
class PinnedRequest:
    """A request to ``url``'s host sent to one checked address: the URL names the address, the
    ``Host`` header and the TLS server name (SNI, and the certificate's check) the original host."""

    url: str
    headers: dict[str, str]
    extensions: dict[str, Any]


def pinned_request(url: str, address: str) -> PinnedRequest:
    """``url`` sent to ``address`` (one that :func:`check_public_url` returned for it)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return PinnedRequest(url=url, headers={}, extensions={})  # a literal address: nothing to pin
    shown = f"[{address}]" if ":" in address else address
    netloc = shown if parts.port is None else f"{shown}:{parts.port}"
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    extensions: dict[str, Any] = {"sni_hostname": host} if parts.scheme == "https" else {}
    return PinnedRequest(
        url=parts._replace(netloc=netloc).geturl(), headers={"Host": host_header}, extensions=extensions
    )


def get_notifier(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.notifier
    return notifier


NotifierDep = Annotated[Notifier, Depends(get_notifier)]
