"""The room socket: ``/ws/rooms/{room_id}``. Admits a viewer, attaches it to the room, runs its frames.

Query parameters: ``v=1``; ``token`` (a viewer token from the shop's backend, or a staff socket
token) or ``device_id`` (a guest); ``resume_epoch`` and ``resume_offset`` to pick up where a
previous socket left off; ``source`` (traffic source: recommend, follow, search, share, campaign,
group, ad, other).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from liveloop.core.container import Container
from liveloop.core.errors import InvalidInput, LiveloopError
from liveloop.interactions import Banned, InteractionsContext, check_join
from liveloop.realtime.events import TRAFFIC_SOURCES
from liveloop.realtime.node import Connection, RealtimeNode
from liveloop.realtime.peers import Peer, QueuePeer, TransportPeer
from liveloop.realtime.protocol import PROTOCOL_VERSION, CloseCode
from liveloop.realtime.session import RoomSession
from liveloop.rooms import get_live_show_id, get_room_shop_id
from liveloop.shops import Viewer, get_viewer, guest_viewer

router = APIRouter()

#: The ASGI scope extension where the web layer leaves the socket's raw transport, when the
#: server exposes one: frames are then written as shared pre-encoded bytes, not per-socket sends.
TRANSPORT_EXTENSION = "liveloop.transport"


@dataclass(frozen=True, slots=True)
class RealtimeRuntime:
    container: Container
    node: RealtimeNode
    interactions: InteractionsContext


@dataclass(frozen=True, slots=True)
class Admission:
    viewer: Viewer
    shop_id: int
    show_id: int | None


class Refused(Exception):
    def __init__(self, close: CloseCode, reason: str, code: str, message: str) -> None:
        super().__init__(message)
        self.close, self.reason, self.code, self.message = close, reason, code, message


async def admit(rt: RealtimeRuntime, room_id: int, params: Any) -> Admission:
    """Who is connecting, to which shop's room; raises :class:`Refused` with a close code."""
    if params.get("v", str(PROTOCOL_VERSION)) != str(PROTOCOL_VERSION):
        raise Refused(CloseCode.UNSUPPORTED, "unsupported_version", "protocol.unsupported_version", "use v=1")
    db = rt.container.db
    async with db.read() as session:
        shop_id = await get_room_shop_id(session, room_id)
        show_id = await get_live_show_id(session, room_id) if shop_id is not None else None
    if shop_id is None:
        raise Refused(
            CloseCode.NOT_FOUND, "room_not_found", "rooms.room_not_found", f"room {room_id} not found"
        )
    token, device_id = params.get("token"), params.get("device_id")
    try:
        if token:
            viewer = await get_viewer(db, token)
        elif device_id:
            viewer = guest_viewer(shop_id, device_id)
        else:
            raise Refused(
                CloseCode.UNAUTHORIZED, "unauthorized", "auth.missing_credentials", "send token or device_id"
            )
    except (LiveloopError, InvalidInput) as exc:
        raise Refused(CloseCode.UNAUTHORIZED, "unauthorized", exc.code, exc.message) from None
    if viewer.shop_id != shop_id:
        raise Refused(
            CloseCode.UNAUTHORIZED, "unauthorized", "auth.invalid_viewer_token", "token is for another shop"
        )
    if not viewer.is_staff:
        try:
            await check_join(rt.interactions, shop_id=shop_id, room_id=room_id, viewer_id=viewer.viewer_id)
        except Banned as exc:
            raise Refused(CloseCode.FORBIDDEN, "banned", exc.code, exc.message) from None
    return Admission(viewer=viewer, shop_id=shop_id, show_id=show_id)


def _resume_point(params: Any) -> tuple[str | None, int | None]:
    epoch, offset = params.get("resume_epoch"), params.get("resume_offset")
    if not epoch or not offset or len(epoch) > 64 or not offset.isdigit():
        return None, None
    return epoch, int(offset)


def _make_peer(websocket: WebSocket) -> tuple[Peer, asyncio.Task[None] | None]:
    peer_id = uuid.uuid4().hex
    transport = (websocket.scope.get("extensions") or {}).get(TRANSPORT_EXTENSION)
    if transport is not None:
        return TransportPeer(peer_id, transport), None
    queue = QueuePeer(peer_id)

    async def send(payload: bytes) -> None:
        await websocket.send_text(payload.decode())

    async def close(code: int, reason: str) -> None:
        if websocket.application_state is WebSocketState.CONNECTED:
            await websocket.close(code, reason)

    return queue, asyncio.create_task(queue.run(send, close=close))


async def _refuse(websocket: WebSocket, refused: Refused) -> None:
    body = {"type": "error", "code": refused.code, "message": refused.message, "ref": None}
    await websocket.send_text(orjson.dumps(body).decode())
    await websocket.close(refused.close, refused.reason)


@router.websocket("/ws/rooms/{room_id}")
async def room_socket(websocket: WebSocket, room_id: int) -> None:
    rt: RealtimeRuntime = websocket.app.state.realtime
    await websocket.accept()
    try:
        admission = await admit(rt, room_id, websocket.query_params)
    except Refused as refused:
        await _refuse(websocket, refused)
        return
    viewer = admission.viewer
    peer, sender = _make_peer(websocket)
    conn = Connection(
        viewer_id=viewer.viewer_id, nickname=viewer.nickname, peer=peer, counted=not viewer.is_staff
    )
    room = await rt.node.open_room(room_id=room_id, shop_id=admission.shop_id, show_id=admission.show_id)
    session = RoomSession(rt.node, room, conn, viewer, rt.interactions, rt.container.events)
    session.send(
        {
            "type": "hello",
            "v": PROTOCOL_VERSION,
            "room_id": room_id,
            "show_id": room.show_id,
            "viewer": {
                "id": viewer.viewer_id,
                "nickname": viewer.nickname,
                "guest": viewer.is_guest,
                "role": viewer.staff_role.value if viewer.staff_role else None,
            },
        }
    )
    source = websocket.query_params.get("source", "other")
    epoch, offset = _resume_point(websocket.query_params)
    await rt.node.join(
        room,
        conn,
        guest=viewer.is_guest,
        source=source if source in TRAFFIC_SOURCES else "other",
        epoch=epoch,
        offset=offset,
    )
    try:
        await _serve(websocket, session)
    finally:
        await rt.node.leave(room, conn, reason=conn.ended_by or "closed")
        if sender is not None:
            peer.close(1000, "bye")  # lets the sender send what the close needs, then stop
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sender, timeout=1)


async def _serve(websocket: WebSocket, session: RoomSession) -> None:
    while True:
        try:
            message = await websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            session.error("protocol.invalid_frame", "send JSON text frames, not binary")
            continue
        await session.handle_text(text)
        if session.flooding:
            session.conn.ended_by = "flooding"
            session.conn.peer.close(CloseCode.FLOODING, "flooding")
            return
