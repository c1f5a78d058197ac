"""What each channel is sent and how its answer reads: pure functions, no I/O.

WeCom group robot (群机器人): ``POST <url>`` with ``{"msgtype": "markdown", "markdown": {"content": ...}}``,
content at most 4096 UTF-8 bytes. It answers HTTP 200 even on failure: the JSON ``errcode`` decides
(0 = ok; 45009 = "api freq out of limit", the robot's 20 messages/minute, and -1 = "system busy":
retry later; any other code, e.g. 93000 for an invalid robot key, is permanent).

Generic webhook: ``POST <url>`` with the message's ``data`` as JSON. With a secret, the header
``X-Liveloop-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` signs it (the same scheme as
liveloop's payment notifications); ``X-Liveloop-Delivery`` is one id per message, the same on
every retry, for the receiver to drop duplicates.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

__all__ = [
    "DELIVERY_HEADER",
    "SIGNATURE_HEADER",
    "WECOM_MARKDOWN_MAX_BYTES",
    "WECOM_RATE_LIMITED",
    "Outcome",
    "Verdict",
    "read_http_answer",
    "read_wecom_answer",
    "sign",
    "trim_utf8",
    "webhook_request",
    "wecom_body",
]

SIGNATURE_HEADER = "X-Liveloop-Signature"
DELIVERY_HEADER = "X-Liveloop-Delivery"
WECOM_MARKDOWN_MAX_BYTES = 4096
WECOM_RATE_LIMITED = 45009
WECOM_BUSY = -1
_ELLIPSIS = "\n…"


class Verdict(StrEnum):
    OK = "ok"
    RETRY = "retry"
    PERMANENT = "permanent"


@dataclass(frozen=True, slots=True)
class Outcome:
    verdict: Verdict
    code: int | None = None
    error: str | None = None
    retry_after_seconds: float | None = None  # what the channel asked for (HTTP Retry-After)
    rate_limited: bool = False  # the channel's own rate limit answered: back off longer


def trim_utf8(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` UTF-8 bytes on a character boundary, marked with an
    ellipsis when cut."""
    raw = text.encode()
    if len(raw) <= max_bytes:
        return text
    room = max_bytes - len(_ELLIPSIS.encode())
    return raw[: max(room, 0)].decode("utf-8", "ignore") + _ELLIPSIS


def wecom_body(markdown: str) -> bytes:
    content = trim_utf8(markdown, WECOM_MARKDOWN_MAX_BYTES)
    return orjson.dumps({"msgtype": "markdown", "markdown": {"content": content}})


def sign(secret: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def webhook_request(data: Any, *, secret: str | None, delivery_id: str) -> tuple[bytes, dict[str, str]]:
    body = orjson.dumps(data)
    headers = {"Content-Type": "application/json", DELIVERY_HEADER: delivery_id}
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, body)
    return body, headers


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: rare from robots and webhooks; use our own backoff
    return seconds if seconds >= 0 else None


def read_http_answer(status: int, retry_after: str | None = None) -> Outcome:
    """A webhook's answer: 2xx delivered; 408, 425, 429 and 5xx worth retrying; any other 4xx not."""
    if 200 <= status < 300:
        return Outcome(Verdict.OK, code=status)
    if status in (408, 425, 429) or status >= 500:
        return Outcome(
            Verdict.RETRY,
            code=status,
            error=f"HTTP {status}",
            retry_after_seconds=_retry_after(retry_after),
            rate_limited=status == 429,
        )
    return Outcome(Verdict.PERMANENT, code=status, error=f"HTTP {status}")


def read_wecom_answer(status: int, body: bytes, retry_after: str | None = None) -> Outcome:
    """A WeCom robot's answer: an HTTP failure reads like a webhook's, then ``errcode`` decides."""
    http = read_http_answer(status, retry_after)
    if http.verdict is not Verdict.OK:
        return http
    try:
        answer = orjson.loads(body)
        errcode = int(answer["errcode"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        # 200 without an errcode is not WeCom's answer (a proxy's page?): try again later.
        return Outcome(Verdict.RETRY, code=status, error="answer without errcode")
    errmsg = str(answer.get("errmsg", ""))[:200]
    if errcode == 0:
        return Outcome(Verdict.OK, code=0)
    if errcode == WECOM_RATE_LIMITED:
        return Outcome(
            Verdict.RETRY, code=errcode, error=errmsg or "api freq out of limit", rate_limited=True
        )
    if errcode == WECOM_BUSY:
        return Outcome(Verdict.RETRY, code=errcode, error=errmsg or "system busy")
    return Outcome(Verdict.PERMANENT, code=errcode, error=errmsg or f"errcode {errcode}")
