"""HttpNotifier over real HTTP on loopback: WeCom errcodes, retries, rate limits, signed webhooks."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from liveloop.adapters.memory import MemoryCounters
from liveloop.adapters.notify import HttpNotifier, RetryPolicy
from liveloop.adapters.notify.channels import WECOM_MARKDOWN_MAX_BYTES, trim_utf8
from liveloop.core.notify import DeliveryStatus, Message, NotifyKind, NotifyTarget
from tests.fake_http import Answer, FakeReceiver, serving

pytestmark = pytest.mark.anyio

ROBOT_PATH = "/cgi-bin/webhook/send?key=test-robot-key-123"
MESSAGE = Message(title="t", markdown="## 直播预警\n> 在线人数下滑", data={"type": "test", "n": 1})


class FakeTime:
    """The clock of the limiter's counters and the notifier's sleep: sleeping moves the clock."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def counters(fake_time: FakeTime) -> MemoryCounters:
    return MemoryCounters(clock=fake_time)


def notifier(counters: MemoryCounters, fake_time: FakeTime, **kwargs: object) -> HttpNotifier:
    """The fake receivers listen on 127.0.0.1: private hosts allowed (the guard: test_notify_guard.py)."""
    policy = RetryPolicy(max_attempts=4, base_seconds=0.5, rate_limited_seconds=10.0, cap_seconds=60.0)
    kwargs.setdefault("allow_private_hosts", True)
    return HttpNotifier(counters, policy=policy, sleep=fake_time.sleep, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def robot() -> Iterator[FakeReceiver]:
    with serving(FakeReceiver()) as receiver:
        yield receiver


def wecom(receiver: FakeReceiver) -> NotifyTarget:
    return NotifyTarget(NotifyKind.WECOM, receiver.url + ROBOT_PATH, id=7)


async def test_wecom_markdown_delivered_on_errcode_0(
    robot: FakeReceiver, counters: MemoryCounters, fake_time: FakeTime
) -> None:
    robot.default = Answer.wecom(0)
    sender = notifier(counters, fake_time)
    try:
        delivery = await sender.send(wecom(robot), MESSAGE)
    finally:
        await sender.close()
    assert (delivery.status, delivery.attempts, delivery.code) == (DeliveryStatus.DELIVERED, 1, 0)
    [request] = robot.received
    assert request.path == ROBOT_PATH
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {"msgtype": "markdown", "markdown": {"content": MESSAGE.markdown}}
    assert fake_time.sleeps == []


async def test_wecom_rate_limit_errcode_is_retried_after_a_backoff(
    robot: FakeReceiver, counters: MemoryCounters, fake_time: FakeTime
) -> None:
    robot.script = [Answer.wecom(45009, "api freq out of limit"), Answer.wecom(0)]
    sender = notifier(counters, fake_time)
    try:
        delivery = await sender.send(wecom(robot), MESSAGE)
    finally:
        await sender.close()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert len(robot.received) == 2
    assert robot.received[0].body == robot.received[1].body
    # A rate-limited answer backs off from rate_limited_seconds (10 s), with jitter in [5, 10].
    assert len(fake_time.sleeps) == 1
    assert 5.0 <= fake_time.sleeps[0] <= 10.0


async def test_wecom_bad_key_is_permanent_not_retried_and_logged(
    robot: FakeReceiver, counters: MemoryCounters, fake_time: FakeTime
) -> None:
    robot.default = Answer.wecom(93000, "invalid webhook url")
    sender = notifier(counters, fake_time)
    try:
        with capture_logs() as logs:
            delivery = await sender.send(wecom(robot), MESSAGE)
    finally:
        await sender.close()
    assert (delivery.status, delivery.attempts, delivery.code) == (DeliveryStatus.FAILED_PERMANENT, 1, 93000)
    assert delivery.error == "invalid webhook url"
    assert len(robot.received) == 1
    assert fake_time.sleeps == []
    [entry] = [e for e in logs if e["event"] == "notification refused"]
    assert (entry["code"], entry["target_id"], entry["log_level"]) == (93000, 7, "warning")
    # The robot's key is a credential: it is not in the log, only the URL without its query.
    assert "test-robot-key-123" not in repr(logs)
    assert entry["url"] == robot.url + "/cgi-bin/webhook/send"


async def test_http_5xx_and_timeouts_are_retried_until_attempts_run_out(
    robot: FakeReceiver, counters: MemoryCounters, fake_time: FakeTime
) -> None:
    robot.script = [Answer(503), Answer(200, b"{}", delay=1.0)]
    robot.default = Answer(502)
    sender = notifier(counters, fake_time, timeout_seconds=0.3)
    try:
        delivery = await sender.send(wecom(robot), MESSAGE)
    finally:
        await sender.close()
    # 503, a timeout, then 502 twice: four attempts, all retryable, then it gives up.
    assert (delivery.status, delivery.attempts, delivery.code) == (DeliveryStatus.FAILED_RETRYABLE, 4, 502)
    assert len(robot.received) == 4
    assert len(fake_time.sleeps) == 3
    # Plain backoff doubles from 0.5 s: each wait lies in [ceiling/2, ceiling].
    for retry, wait in enumerate(fake_time.sleeps, start=1):
        ceiling = 0.5 * 2 ** (retry - 1)
        assert ceiling / 2 <= wait <= ceiling


async def test_wecom_200_without_errcode_is_retried(
    robot: FakeReceiver, counters: MemoryCounters, fake_time: FakeTime
) -> None:
    robot.script = [Answer(200, b"<html>proxy</html>")]
    robot.default = Answer.wecom(0)
    sender = notifier(counters, fake_time)
    try:
        delivery = await sender.send(wecom(robot), MESSAGE)
    finally:
        await sender.close()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)


async def test_client_side_limiter_holds_a_robot_to_its_rate(
    robot: FakeReceiver, counters: MemoryCounters, fake_time: FakeTime
) -> None:
    robot.default = Answer.wecom(0)
    sender = notifier(counters, fake_time, wecom_per_minute=3)
    other = NotifyTarget(NotifyKind.WECOM, robot.url + "/cgi-bin/webhook/send?key=another-robot", id=8)
    try:
        for _ in range(3):
            assert (await sender.send(wecom(robot), MESSAGE)).delivered
        assert fake_time.sleeps == []
        # Another robot has its own bucket.
        assert (await sender.send(other, MESSAGE)).delivered
        assert fake_time.sleeps == []
        # The 4th message to the first robot within the minute waits for a token (60 s / 3 = 20 s).
        assert (await sender.send(wecom(robot), MESSAGE)).delivered
    finally:
        await sender.close()
    assert len(fake_time.sleeps) == 1
    assert fake_time.sleeps[0] == pytest.approx(20.0, abs=0.01)
    assert len(robot.received) == 5


async def test_client_side_limiter_gives_up_after_its_longest_wait(
    robot: FakeReceiver, counters: MemoryCounters, fake_time: FakeTime
) -> None:
    robot.default = Answer.wecom(0)
    policy = RetryPolicy(max_limiter_wait_seconds=5.0)
    sender = HttpNotifier(
        counters, policy=policy, sleep=fake_time.sleep, wecom_per_minute=1, allow_private_hosts=True
    )
    try:
        assert (await sender.send(wecom(robot), MESSAGE)).delivered
        delivery = await sender.send(wecom(robot), MESSAGE)
    finally:
        await sender.close()
    assert (delivery.status, delivery.error) == (DeliveryStatus.FAILED_RETRYABLE, "client-side rate limit")
    assert len(robot.received) == 1


async def test_webhook_body_is_signed_with_the_secret(
    robot: FakeReceiver, counters: MemoryCounters, fake_time: FakeTime
) -> None:
    secret = "s3cret-for-hmac"
    robot.script = [Answer(500)]
    robot.default = Answer(204)
    target = NotifyTarget(NotifyKind.WEBHOOK, robot.url + "/hooks/liveloop?token=abc", secret=secret, id=3)
    sender = notifier(counters, fake_time)
    try:
        delivery = await sender.send(target, MESSAGE)
    finally:
        await sender.close()
    assert (delivery.status, delivery.attempts, delivery.code) == (DeliveryStatus.DELIVERED, 2, 204)
    first, second = robot.received
    for request in (first, second):
        assert request.path == "/hooks/liveloop?token=abc"
        assert request.json() == {"type": "test", "n": 1}
        expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(request.headers["x-liveloop-signature"], expected)
    # One delivery id for the message, the same on the retry, so a receiver can drop duplicates.
    assert first.headers["x-liveloop-delivery"] == second.headers["x-liveloop-delivery"]
    assert len(first.headers["x-liveloop-delivery"]) == 32


async def test_webhook_without_secret_is_unsigned_and_4xx_is_permanent(
    robot: FakeReceiver, counters: MemoryCounters, fake_time: FakeTime
) -> None:
    robot.default = Answer(404)
    sender = notifier(counters, fake_time)
    try:
        delivery = await sender.send(NotifyTarget(NotifyKind.WEBHOOK, robot.url + "/gone"), MESSAGE)
    finally:
        await sender.close()
    assert (delivery.status, delivery.attempts, delivery.code) == (DeliveryStatus.FAILED_PERMANENT, 1, 404)
    assert "x-liveloop-signature" not in robot.received[0].headers


async def test_retry_after_is_honoured(
    robot: FakeReceiver, counters: MemoryCounters, fake_time: FakeTime
) -> None:
    robot.script = [Answer(429, headers={"Retry-After": "7"})]
    robot.default = Answer(200)
    sender = notifier(counters, fake_time)
    try:
        delivery = await sender.send(NotifyTarget(NotifyKind.WEBHOOK, robot.url + "/h"), MESSAGE)
    finally:
        await sender.close()
    assert delivery.delivered
    assert fake_time.sleeps == [7.0]


async def test_unreachable_target_fails_retryable(counters: MemoryCounters, fake_time: FakeTime) -> None:
    with serving(FakeReceiver()) as receiver:
        url = receiver.url + "/h"
    # The server is gone: connection refused, retried, then given up.
    sender = notifier(counters, fake_time)
    try:
        delivery = await sender.send(NotifyTarget(NotifyKind.WEBHOOK, url), MESSAGE, max_attempts=2)
    finally:
        await sender.close()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED_RETRYABLE, 2)
    assert delivery.error == "ConnectError"


async def test_long_markdown_is_trimmed_to_wecoms_byte_limit(
    robot: FakeReceiver, counters: MemoryCounters, fake_time: FakeTime
) -> None:
    robot.default = Answer.wecom(0)
    sender = notifier(counters, fake_time)
    try:
        await sender.send(wecom(robot), Message(title="t", markdown="预警" * 3000))
    finally:
        await sender.close()
    content = robot.received[0].json()["markdown"]["content"]  # type: ignore[index]
    assert len(content.encode()) <= WECOM_MARKDOWN_MAX_BYTES
    assert content.endswith("…")
    assert content.startswith("预警预警")


@given(st.text(), st.integers(min_value=8, max_value=300))
def test_trim_utf8_never_splits_a_character_nor_passes_the_limit(text: str, limit: int) -> None:
    trimmed = trim_utf8(text, limit)
    assert len(trimmed.encode()) <= limit
    if len(text.encode()) <= limit:
        assert trimmed == text
    else:
        assert text.startswith(trimmed.removesuffix("\n…"))
