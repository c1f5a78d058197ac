"""The console's socket: ``/ws/console/shows/{show_id}`` pushes a show's live metrics every second.

Authenticated by the console cookie (same origin only) or by ``?token=`` holding a staff socket
token (``POST /api/v1/socket-tokens``). A show of another shop is refused like a missing one.

Server -> client frames (JSON text):

- ``{"type": "hello", "show": {"id", "room_id", "title", "state"}, "interval_ms": 1000}``
- ``{"type": "metrics", "metrics": <snapshot>}`` every second: the schema of
  ``GET /api/v1/shows/{id}/metrics`` (``app.state.live_metrics.snapshot(shop_id, show_id)``)
- ``{"type": "alerts", "alerts": [{"rule", "message", "figures", "suggestion", "at"}, ...]}`` when
  the alerts of the show change (``app.state.alerts.recent(shop_id, show_id)``)
- ``{"type": "error", "code", "message"}``: ``metrics.unavailable`` (this server keeps no live
  metrics; sent once), ``metrics.failed``, or the reason of a refusal just before its close.
- ``{"type": "pong"}`` for a client ``{"type": "ping"}``.

Close codes are the room socket's (:class:`~liveloop.realtime.protocol.CloseCode`): 4001 no or a
bad credential (or a key revoked while connected), 4003 a cookie sent from another origin, 4004
no such show in the caller's shop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final, Protocol

import orjson
import structlog
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from liveloop.core.container import Container
from liveloop.core.errors import LiveloopError
from liveloop.realtime.protocol import CloseCode
from liveloop.rooms import ShowCard, ShowNotFound, get_show_card
from liveloop.shops import Principal, get_viewer
from liveloop.web.console_auth import principal_for_key, same_origin, staff_key

log = structlog.get_logger(__name__)

router = APIRouter()

PUSH_INTERVAL_SECONDS: Final = 1.0
#: How often a cookie's key is checked again (a revoked key ends the socket).
RECHECK_SECONDS: Final = 30.0
MAX_SHOW_ID: Final = 2**53


class LiveMetricsSource(Protocol):
    async def snapshot(self, shop_id: int, show_id: int) -> Mapping[str, Any]: ...


class AlertsSource(Protocol):
    async def recent(self, shop_id: int, show_id: int) -> Sequence[Mapping[str, Any]]: ...


class Refused(Exception):
    def __init__(self, close: CloseCode, reason: str, code: str, message: str) -> None:
        super().__init__(message)
        self.close, self.reason, self.code, self.message = close, reason, code, message


def _encode(body: Mapping[str, Any]) -> str:
    return orjson.dumps(body, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


async def _authenticate(websocket: WebSocket, container: Container) -> tuple[Principal, str | None]:
    """The caller and, for the cookie path, the key to check again later."""
    token = websocket.query_params.get("token")
    if token:
        try:
            viewer = await get_viewer(container.db, token)
        except LiveloopError as exc:
            raise Refused(CloseCode.UNAUTHORIZED, "unauthorized", exc.code, exc.message) from None
        if viewer.staff_role is None:
            raise Refused(
                CloseCode.UNAUTHORIZED, "unauthorized", "auth.staff_required", "send a staff socket token"
            )
        # As the room socket does for staff frames: the token stands for this staff member's role.
        staff_id = int(viewer.viewer_id.removeprefix("s:"))
        return Principal(
            shop_id=viewer.shop_id, staff_id=staff_id, role=viewer.staff_role, api_key_id=0
        ), None
    if not same_origin(websocket.headers.get("origin"), websocket.headers.get("host")):
        raise Refused(
            CloseCode.FORBIDDEN, "forbidden", "auth.bad_origin", "the console cookie is same-origin only"
        )
    key = staff_key(websocket.cookies)
    principal = await principal_for_key(container, key)
    if principal is None:
        code = "auth.missing_credentials" if key is None else "auth.invalid_api_key"
        raise Refused(CloseCode.UNAUTHORIZED, "unauthorized", code, "sign in to the console again")
    return principal, key


async def _show(container: Container, principal: Principal, show_id: int) -> ShowCard:
    try:
        if not 1 <= show_id <= MAX_SHOW_ID:
            raise ShowNotFound(f"show {show_id} not found")
        return await get_show_card(container.db, principal, show_id)
    except ShowNotFound as exc:
        raise Refused(CloseCode.NOT_FOUND, "show_not_found", exc.code, exc.message) from None


@router.websocket("/ws/console/shows/{show_id}")
async def console_socket(websocket: WebSocket, show_id: int) -> None:
    container: Container = websocket.app.state.container
    await websocket.accept()
    try:
        principal, key = await _authenticate(websocket, container)
        card = await _show(container, principal, show_id)
    except Refused as refused:
        body = {"type": "error", "code": refused.code, "message": refused.message}
        await websocket.send_text(_encode(body))
        await websocket.close(refused.close, refused.reason)
        return
    show = {"id": card.show_id, "room_id": card.room_id, "title": card.title, "state": card.state.value}
    hello = {"type": "hello", "show": show, "interval_ms": int(PUSH_INTERVAL_SECONDS * 1000)}
    await websocket.send_text(_encode(hello))
    pusher = asyncio.create_task(_push(websocket, container, principal, card.show_id, key))
    listener = asyncio.create_task(_listen(websocket))
    try:
        await asyncio.wait((pusher, listener), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (pusher, listener):
            task.cancel()
        for task in (pusher, listener):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _listen(websocket: WebSocket) -> None:
    """Read until the client goes; answer pings (the client's liveness check)."""
    while True:
        try:
            message = await websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text and len(text) <= 256 and '"ping"' in text:
            await websocket.send_text('{"type":"pong"}')


async def _push(
    websocket: WebSocket, container: Container, principal: Principal, show_id: int, key: str | None
) -> None:
    state = websocket.app.state
    shop_id = principal.shop_id
    said_unavailable = False
    last_alerts: str | None = None
    checked = time.monotonic()
    next_at = time.monotonic()
    while websocket.application_state is WebSocketState.CONNECTED:
        if key is not None and time.monotonic() - checked >= RECHECK_SECONDS:
            checked = time.monotonic()
            if await principal_for_key(container, key) is None:
                await websocket.send_text(
                    _encode(
                        {"type": "error", "code": "auth.invalid_api_key", "message": "the key was revoked"}
                    )
                )
                await websocket.close(CloseCode.UNAUTHORIZED, "unauthorized")
                return
        metrics: LiveMetricsSource | None = getattr(state, "live_metrics", None)
        if metrics is None:
            if not said_unavailable:
                said_unavailable = True
                await websocket.send_text(_encode(_unavailable()))
        else:
            await websocket.send_text(_encode(await _metrics_frame(metrics, shop_id, show_id)))
        alerts: AlertsSource | None = getattr(state, "alerts", None)
        if alerts is not None:
            frame = await _alerts_frame(alerts, shop_id, show_id)
            if frame is not None and frame != last_alerts:
                last_alerts = frame
                await websocket.send_text(frame)
        next_at += PUSH_INTERVAL_SECONDS
        now = time.monotonic()
        if next_at < now:  # a slow snapshot: keep the cadence, do not burst to catch up
            next_at = now + PUSH_INTERVAL_SECONDS
        await asyncio.sleep(next_at - now)


def _unavailable() -> dict[str, Any]:
    return {
        "type": "error",
        "code": "metrics.unavailable",
        "message": "this server keeps no live metrics (app.state.live_metrics is not set)",
    }


async def _metrics_frame(source: LiveMetricsSource, shop_id: int, show_id: int) -> dict[str, Any]:
    try:
        snapshot = await source.snapshot(shop_id, show_id)
    except LiveloopError as exc:
        return {"type": "error", "code": exc.code, "message": exc.message}
    except Exception:
        log.exception("live metrics snapshot failed", shop_id=shop_id, show_id=show_id)
        return {"type": "error", "code": "metrics.failed", "message": "the metrics could not be computed"}
    return {"type": "metrics", "metrics": snapshot}


async def _alerts_frame(source: AlertsSource, shop_id: int, show_id: int) -> str | None:
    try:
        recent = await source.recent(shop_id, show_id)
    except Exception:
        log.exception("recent alerts failed", shop_id=shop_id, show_id=show_id)
        return None
    return _encode({"type": "alerts", "alerts": list(recent)})
