"""The alert digest: the shop's alerts of the last minute as one message, sent off the evaluation path."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

import structlog

from liveloop.core.notify import Delivery, Message, Notifier, NotifyTarget

__all__ = ["OVERFLOW_POLICY", "DigestOutbox", "digest_message"]

log = structlog.get_logger(__name__)

#: What happens when digests queue faster than channels take them (a channel down for long).
OVERFLOW_POLICY = "drop-newest, counted in DigestOutbox.dropped"
#: Alerts listed one by one in a digest; the rest are counted (WeCom takes 4096 bytes of markdown).
MAX_LISTED = 8
_COLOR = {"critical": "warning", "warning": "comment"}
_RULE_ZH = {
    "low_ctr_explaining": "讲解商品点击率低",
    "traffic_drop": "在线人数下滑",
    "conversion_stall": "成交转化停滞",
}


def _line(alert: Mapping[str, Any]) -> str:
    rule = str(alert.get("rule", ""))
    color = _COLOR.get(str(alert.get("severity")), "comment")
    title = _RULE_ZH.get(rule, rule)
    show = f"《{alert.get('show_title', '')}》" if alert.get("show_title") else f"#{alert.get('show_id')}"
    return (
        f'> <font color="{color}">**{title}**</font> {show}\n'
        f"> {alert.get('message_zh', '')}\n"
        f"> 建议：{alert.get('suggestion_zh', '')}\n"
    )


def digest_message(shop_id: int, alerts: Sequence[Mapping[str, Any]]) -> Message:
    """One message for the alerts (oldest first): markdown for people, JSON for webhooks."""
    listed = list(alerts[:MAX_LISTED])
    more = len(alerts) - len(listed)
    lines = [f"## 直播预警 · {len(alerts)} 条", ""]
    lines += [_line(alert) for alert in listed]
    if more > 0:
        lines.append(f"…另有 {more} 条，请在控制台查看。")
    lines.append(f'<font color="comment">liveloop live alerts: {len(alerts)} in the last minute.</font>')
    return Message(
        title=f"直播预警 {len(alerts)} 条 / {len(alerts)} live alerts",
        markdown="\n".join(lines),
        data={"type": "liveloop.alerts.digest", "shop_id": shop_id, "alerts": [dict(a) for a in alerts]},
    )


class DigestOutbox:
    """Runs sends in their own tasks, so the engine never waits for a channel (retries can take a minute).

    At most ``concurrency`` digests are being sent at once and ``max_pending`` wait; beyond that new
    digests are dropped and counted (:data:`OVERFLOW_POLICY`). :meth:`close` lets sends in flight
    finish for ``grace_seconds``, then cancels them.
    """

    def __init__(self, notifier: Notifier, *, concurrency: int = 8, max_pending: int = 100) -> None:
        self._notifier = notifier
        self._slots = asyncio.Semaphore(concurrency)
        self._max = concurrency + max_pending
        self._tasks: set[asyncio.Task[list[Delivery]]] = set()
        self.dropped = 0
        self.sent = 0

    def submit(self, shop_id: int, targets: Sequence[NotifyTarget], message: Message) -> bool:
        """Queue the message for every target; False (and counted) when the outbox is full."""
        if len(self._tasks) >= self._max:
            self.dropped += 1
            log.warning("alert digest dropped: outbox full", shop_id=shop_id, policy=OVERFLOW_POLICY)
            return False
        task = asyncio.create_task(self._send(shop_id, targets, message), name=f"alert-digest-{shop_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _send(self, shop_id: int, targets: Sequence[NotifyTarget], message: Message) -> list[Delivery]:
        async with self._slots:
            deliveries = await asyncio.gather(*(self._notifier.send(t, message) for t in targets))
        self.sent += 1
        for target, delivery in zip(targets, deliveries, strict=True):
            if not delivery.delivered:
                log.warning(
                    "alert digest not delivered",
                    shop_id=shop_id,
                    target_id=target.id,
                    status=delivery.status.value,
                    code=delivery.code,
                    error=delivery.error,
                )
        return list(deliveries)

    async def drain(self) -> None:
        """Wait for every queued send (tests, and a graceful close)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, *, grace_seconds: float = 5.0) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drain(), grace_seconds)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
