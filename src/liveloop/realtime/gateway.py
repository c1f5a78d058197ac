"""The room socket: ``/ws/rooms/{room_id}``. Admits a viewer, attaches it to the room, runs its frames.

Query parameters: ``v=1``; ``token`` (a viewer token from the shop's backend, or a staff socket
token) or ``device_id`` (a guest); ``resume_epoch`` and ``resume_offset`` to pick up where a
previous socket left off; ``source`` (traffic source: recommend, follow, search, share, campaign,
group, ad, other).

:func:`serve_room_socket` is a bare ASGI WebSocket application: the web layer calls it from the
app's outermost layer, so no routing, middleware, dependency or exit-stack state stays alive per
socket (a node holds thousands, idle most of the time).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import Message, Receive, Scope, Send

from liveloop.commerce import CommerceContext
from liveloop.core.container import Container
from liveloop.core.errors import InvalidInput, LiveloopError
from liveloop.interactions import Banned, InteractionsContext, check_join
from liveloop.realtime.admission import RoomFactsReader
from liveloop.realtime.events import TRAFFIC_SOURCES
from liveloop.realtime.node import Connection, RealtimeNode
from liveloop.realtime.peers import Peer, QueuePeer, TransportLike, TransportPeer
from liveloop.realtime.protocol import PROTOCOL_VERSION, CloseCode
from liveloop.realtime.session import RoomSession
from liveloop.rooms import Explaining
from liveloop.shops import Viewer, ViewerKeyCache, get_viewer, guest_viewer


@dataclass(frozen=True, slots=True)
class RealtimeRuntime:
    container: Container
    node: RealtimeNode
    interactions: InteractionsContext
    #: The process's viewer-key cache (shared with the HTTP routes): a socket's token check reads no SQL.
    viewer_keys: ViewerKeyCache
    rooms: RoomFactsReader


@dataclass(frozen=True, slots=True)
class Admission:
    viewer: Viewer
    shop_id: int
    show_id: int | None
    explaining: Explaining | None = None


class Refused(Exception):
    def __init__(self, close: CloseCode, reason: str, code: str, message: str) -> None:
        super().__init__(message)
        self.close, self.reason, self.code, self.message = close, reason, code, message


async def admit(rt: RealtimeRuntime, room_id: int, params: Mapping[str, str]) -> Admission:
    """Who is connecting, to which shop's room; raises :class:`Refused` with a close code."""
    if params.get("v", str(PROTOCOL_VERSION)) != str(PROTOCOL_VERSION):
        raise Refused(CloseCode.UNSUPPORTED, "unsupported_version", "protocol.unsupported_version", "use v=1")
    facts = await rt.rooms.read(room_id)
    shop_id, show_id, explaining = facts.shop_id, facts.show_id, facts.explaining
    if shop_id is None:
        raise Refused(
            CloseCode.NOT_FOUND, "room_not_found", "rooms.room_not_found", f"room {room_id} not found"
        )
    token, device_id = params.get("token"), params.get("device_id")
    try:
        if token:
            viewer = await get_viewer(rt.container.db, token, keys=rt.viewer_keys)
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
    return Admission(viewer=viewer, shop_id=shop_id, show_id=show_id, explaining=explaining)


def _explaining(explaining: Explaining | None, show_id: int | None) -> dict[str, Any] | None:
    """The hello's ``explaining``: later changes arrive as ``explaining`` items of the stream."""
    if explaining is None or explaining.show_id != show_id:
        return None
    return {
        "show_id": explaining.show_id,
        "product_id": explaining.product_id,
        "name": explaining.name,
        "price_cents": explaining.price_cents,
        "image_url": explaining.image_url,
    }


def _resume_point(params: Mapping[str, str]) -> tuple[str | None, int | None]:
    epoch, offset = params.get("resume_epoch"), params.get("resume_offset")
    if not epoch or not offset or len(epoch) > 64 or not offset.isdigit():
        return None, None
    return epoch, int(offset)


def _query(scope: Scope) -> dict[str, str]:
    """The query parameters, read as Starlette reads them (a repeated name keeps its last value)."""
    raw: bytes = scope.get("query_string", b"")
    return dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))


def _make_peer(send: Send, transport: TransportLike | None) -> tuple[Peer, asyncio.Task[None] | None]:
    peer_id = uuid.uuid4().hex
    if transport is not None:
        return TransportPeer(peer_id, transport), None
    queue = QueuePeer(peer_id)

    async def send_text(payload: bytes) -> None:
        await send({"type": "websocket.send", "text": payload.decode()})

    async def close(code: int, reason: str) -> None:
        await send({"type": "websocket.close", "code": code, "reason": reason})

    return queue, asyncio.create_task(queue.run(send_text, close=close))


async def _refuse(send: Send, refused: Refused) -> None:
    body = {"type": "error", "code": refused.code, "message": refused.message, "ref": None}
    await send({"type": "websocket.send", "text": orjson.dumps(body).decode()})
    await send({"type": "websocket.close", "code": refused.close, "reason": refused.reason})


async def serve_room_socket(
    rt: RealtimeRuntime,
    room_id: int,
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    transport: TransportLike | None = None,
    commerce: CommerceContext | None = None,
) -> None:
    """The whole life of one room socket, as a bare ASGI WebSocket application.

    ``transport``: the socket's asyncio transport with the handshake done, when the server exposes
    it (frames are then written as shared pre-encoded bytes); else every frame is an ASGI send from
    one sender task. ``commerce``: the app's commerce context (orders over the socket share its stock
    cache and payment provider); None refuses ``buy``.
    """
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    opened = await _open(rt, room_id, scope, send, transport, commerce)
    if opened is None:
        return
    session, sender = opened
    try:
        # The client's frames, in order, until it goes or floods. Nothing of a handled message
        # stays referenced while the next is awaited (thousands of sockets wait at once).
        while await _handle(session, await receive()):
            pass
    finally:
        conn = session.conn
        await rt.node.leave(session.room, conn, reason=conn.ended_by or "closed")
        if sender is not None:
            conn.peer.close(1000, "bye")  # lets the sender send what the close needs, then stop
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sender, timeout=1)


async def _open(
    rt: RealtimeRuntime,
    room_id: int,
    scope: Scope,
    send: Send,
    transport: TransportLike | None,
    commerce: CommerceContext | None,
) -> tuple[RoomSession, asyncio.Task[None] | None] | None:
    """Admit, say hello, attach to the room; None when refused (the socket is closed then).

    A function of its own so that what only the start needs (the parsed query, the admission)
    is not kept alive for the socket's lifetime.
    """
    params = _query(scope)
    try:
        admission = await admit(rt, room_id, params)
    except Refused as refused:
        await _refuse(send, refused)
        return None
    viewer = admission.viewer
    peer, sender = _make_peer(send, transport)
    conn = Connection(
        viewer_id=viewer.viewer_id, nickname=viewer.nickname, peer=peer, counted=not viewer.is_staff
    )
    room = await rt.node.open_room(room_id=room_id, shop_id=admission.shop_id, show_id=admission.show_id)
    session = RoomSession(rt.node, room, conn, viewer, rt.interactions, rt.container.events, commerce)
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
            "explaining": _explaining(admission.explaining, room.show_id),
        }
    )
    source = params.get("source", "other")
    epoch, offset = _resume_point(params)
    await rt.node.join(
        room,
        conn,
        guest=viewer.is_guest,
        source=source if source in TRAFFIC_SOURCES else "other",
        epoch=epoch,
        offset=offset,
    )
    return session, sender


async def _handle(session: RoomSession, message: Message) -> bool:
    """One ASGI message from the client; False when the socket is done (gone, or flooding)."""
    if message["type"] != "websocket.receive":
        return False  # websocket.disconnect
    text = message.get("text")
    if text is None:
        session.error("protocol.invalid_frame", "send JSON text frames, not binary")
        return True
    await session.handle_text(text)
    if session.flooding:
        session.conn.ended_by = "flooding"
        session.conn.peer.close(CloseCode.FLOODING, "flooding")
        return False
    return True
