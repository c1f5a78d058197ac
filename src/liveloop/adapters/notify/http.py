"""The Notifier over HTTP (httpx2): WeCom group robots and generic webhooks, with retries and limits."""

from __future__ import annotations

import asyncio
import hashlib
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx2
import structlog

from liveloop.adapters.notify.channels import (
    Outcome,
    Verdict,
    read_http_answer,
    read_wecom_answer,
    webhook_request,
    wecom_body,
)
from liveloop.core.counters import Counters
from liveloop.core.notify import (
    Delivery,
    DeliveryStatus,
    Message,
    NonPublicAddress,
    Notifier,
    NotifyKind,
    NotifyTarget,
    Resolver,
    check_public_url,
    pinned_request,
    resolve_host,
)

__all__ = ["HttpNotifier", "RetryPolicy"]

log = structlog.get_logger(__name__)

#: The longest answer read from a channel; robots and webhooks answer with a few bytes.
MAX_ANSWER_BYTES = 64 * 1024
#: A WeCom group robot takes at most 20 messages a minute (documented; it answers 45009 beyond).
WECOM_MESSAGES_PER_MINUTE = 20


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently one message is retried.

    The n-th retry waits between half and all of ``min(cap, base * 2**(n-1))`` ("equal jitter"),
    where ``base`` is ``rate_limited_seconds`` after the channel said it is rate-limited (WeCom 45009,
    HTTP 429) and ``base_seconds`` otherwise; an HTTP ``Retry-After`` is honoured up to the cap.
    """

    max_attempts: int = 5
    base_seconds: float = 1.0
    rate_limited_seconds: float = 10.0
    cap_seconds: float = 60.0
    #: The longest time a message waits for a slot of the client-side limiter before giving up.
    max_limiter_wait_seconds: float = 120.0

    def delay(self, retry: int, outcome: Outcome, rng: random.Random) -> float:
        if outcome.retry_after_seconds is not None:
            return min(outcome.retry_after_seconds, self.cap_seconds)
        base = self.rate_limited_seconds if outcome.rate_limited else self.base_seconds
        ceiling: float = min(self.cap_seconds, base * 2.0 ** (retry - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


Sleep = Callable[[float], Awaitable[None]]


class HttpNotifier(Notifier):
    """One pooled HTTP client for every channel.

    WeCom robots are rate-limited on the client side with a token bucket in ``counters`` (shared by
    every node on Redis, keyed by a hash of the robot's URL so its key never lands in Redis), so a
    burst waits for a slot instead of earning 45009 answers.

    Unless ``allow_private_hosts``, every attempt first resolves the target's host and refuses
    (``failed_permanent``, nothing sent) when any address is loopback, private, link-local or
    otherwise non-public: DNS answers may have changed since the target was saved. Redirects are
    never followed, so a public host cannot bounce a send inward either.
    """

    def __init__(
        self,
        counters: Counters,
        *,
        client: httpx2.AsyncClient | None = None,
        policy: RetryPolicy | None = None,
        timeout_seconds: float = 5.0,
        wecom_per_minute: int = WECOM_MESSAGES_PER_MINUTE,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        allow_private_hosts: bool = False,
        resolve: Resolver = resolve_host,
    ) -> None:
        self._counters = counters
        self._owns_client = client is None
        self._client = client or httpx2.AsyncClient(timeout=timeout_seconds, follow_redirects=False)
        self._policy = policy or RetryPolicy()
        self._wecom_per_minute = wecom_per_minute
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._allow_private_hosts = allow_private_hosts
        self._resolve = resolve

    async def send(
        self, target: NotifyTarget, message: Message, *, max_attempts: int | None = None
    ) -> Delivery:
        allowed = max(1, max_attempts or self._policy.max_attempts)
        delivery_id = uuid.uuid4().hex  # the same on every retry: receivers drop duplicates by it
        outcome = Outcome(Verdict.RETRY, error="not sent")
        for attempt in range(1, allowed + 1):
            if target.kind is NotifyKind.WECOM and not await self._wecom_slot(target):
                return self._give_up(
                    target, attempt - 1, Outcome(Verdict.RETRY, error="client-side rate limit")
                )
            outcome = await self._attempt(target, message, delivery_id)
            if outcome.verdict is Verdict.OK:
                return Delivery(DeliveryStatus.DELIVERED, attempts=attempt, code=outcome.code)
            if outcome.verdict is Verdict.PERMANENT:
                log.warning(
                    "notification refused",
                    target_id=target.id,
                    kind=target.kind.value,
                    url=target.safe_url(),
                    code=outcome.code,
                    error=outcome.error,
                    attempts=attempt,
                )
                return Delivery(
                    DeliveryStatus.FAILED_PERMANENT, attempts=attempt, code=outcome.code, error=outcome.error
                )
            if attempt < allowed:
                wait = self._policy.delay(attempt, outcome, self._rng)
                log.info(
                    "notification retry",
                    target_id=target.id,
                    url=target.safe_url(),
                    code=outcome.code,
                    error=outcome.error,
                    attempt=attempt,
                    wait_seconds=round(wait, 3),
                )
                await self._sleep(wait)
        return self._give_up(target, allowed, outcome)

    def _give_up(self, target: NotifyTarget, attempts: int, outcome: Outcome) -> Delivery:
        log.warning(
            "notification failed",
            target_id=target.id,
            kind=target.kind.value,
            url=target.safe_url(),
            code=outcome.code,
            error=outcome.error,
            attempts=attempts,
        )
        return Delivery(
            DeliveryStatus.FAILED_RETRYABLE, attempts=attempts, code=outcome.code, error=outcome.error
        )

    async def _wecom_slot(self, target: NotifyTarget) -> bool:
        """Wait for a slot of the robot's token bucket; False after ``max_limiter_wait_seconds``."""
        key = "notify:wecom:" + hashlib.sha256(target.url.encode()).hexdigest()[:32]
        waited = 0.0
        while True:
            try:
                decision = await self._counters.rate_limit(
                    key, rate_per_second=self._wecom_per_minute / 60, burst=self._wecom_per_minute
                )
            except Exception:
                # Counters unreachable: send anyway; the robot's own 45009 answer still holds us back.
                log.exception("wecom rate limiter unavailable", target_id=target.id)
                return True
            if decision.allowed:
                return True
            if waited + decision.retry_after_seconds > self._policy.max_limiter_wait_seconds:
                return False
            waited += decision.retry_after_seconds
            await self._sleep(decision.retry_after_seconds)

    async def _attempt(self, target: NotifyTarget, message: Message, delivery_id: str) -> Outcome:
        url, extensions = target.url, {}
        if target.kind is NotifyKind.WECOM:
            body, headers = wecom_body(message.markdown), {"Content-Type": "application/json"}
        else:
            body, headers = webhook_request(message.data, secret=target.secret, delivery_id=delivery_id)
        if not self._allow_private_hosts:
            try:
                addresses = await check_public_url(target.url, resolve=self._resolve)
            except NonPublicAddress as exc:
                return Outcome(Verdict.PERMANENT, error=f"refused: {exc}")
            except OSError:
                return Outcome(Verdict.RETRY, error="host does not resolve")
            pinned = pinned_request(target.url, addresses[0])  # connect where the check looked
            url, extensions = pinned.url, pinned.extensions
            headers = {**headers, **pinned.headers}
        try:
            async with self._client.stream(
                "POST", url, content=body, headers=headers, extensions=extensions
            ) as response:
                answer = await _read_limited(response)
        except httpx2.TimeoutException:
            return Outcome(Verdict.RETRY, error="timeout")
        except (httpx2.UnsupportedProtocol, httpx2.InvalidURL) as exc:
            return Outcome(Verdict.PERMANENT, error=f"bad URL: {type(exc).__name__}")
        except httpx2.TransportError as exc:  # connection refused or reset, DNS, TLS, protocol errors
            return Outcome(Verdict.RETRY, error=type(exc).__name__)
        retry_after = response.headers.get("Retry-After")
        if target.kind is NotifyKind.WECOM:
            return read_wecom_answer(response.status_code, answer, retry_after)
        return read_http_answer(response.status_code, retry_after)

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()


async def _read_limited(response: httpx2.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_ANSWER_BYTES:
            break
    return b"".join(chunks)[:MAX_ANSWER_BYTES]
