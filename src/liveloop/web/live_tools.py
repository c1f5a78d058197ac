"""``GET /api/v1/rooms/{room_id}/live-tools``: the room's open tools for late joiners and socket-only
clients (apps, mini-programs), the same state the viewer page renders into its config.

Who may read: like the showcase (``rooms.api_showcase``), the shop's viewers (a viewer token),
guests (an ``X-Device-Id`` header) and its staff (an API key, ``SHOWS_READ``). A room of another
shop is ``rooms.room_not_found`` for a viewer or staff member; a guest belongs to no shop but the
room's, as on the public page and the room socket.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from liveloop.core.container import ContainerDep
from liveloop.core.schemas import ERROR_RESPONSES
from liveloop.rooms import RoomNotFound, RoomPage, get_room_page
from liveloop.rooms.api_showcase import DEVICE_HEADER, Bearer, Device
from liveloop.rooms.errors import MissingAudience
from liveloop.shops import (
    InvalidViewerToken,
    Permission,
    Principal,
    Viewer,
    check_permission,
    current_principal,
    current_viewer,
    guest_viewer,
)
from liveloop.web.live_state import LiveToolsOut, get_live_tools

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["live tools"])
Id = Annotated[int, Path(ge=1, le=2**53)]


async def _room(container: ContainerDep, room_id: int) -> RoomPage:
    room = await get_room_page(container.db, room_id)
    if room is None:
        raise RoomNotFound(f"room {room_id} not found")
    return room


async def room_reader(
    container: ContainerDep, credentials: Bearer, device_id: Device, room_id: Id
) -> Principal | Viewer:
    """A viewer (token), a staff member (API key) or a guest (device id), as ``showcase_reader``,
    with the guest's shop taken from the room instead of a show."""
    if credentials is not None and credentials.credentials:
        try:
            return await current_viewer(container, credentials)
        except InvalidViewerToken:
            return await current_principal(container, credentials)  # not a viewer token: a staff key?
    if device_id:
        return guest_viewer((await _room(container, room_id)).shop_id, device_id)
    raise MissingAudience(f"send a viewer token as `Authorization: Bearer <token>` or a `{DEVICE_HEADER}`")


ReaderDep = Annotated[Principal | Viewer, Depends(room_reader)]


@router.get("/rooms/{room_id}/live-tools", response_model=LiveToolsOut)
async def read_live_tools(
    request: Request, container: ContainerDep, reader: ReaderDep, room_id: Id
) -> LiveToolsOut:
    """What a viewer joining now sees of the room's tools: open polls (with counts), red packets (with
    shares grabbed), the open lottery (its seed hash), the live show's flash sales (units left), open
    coupon drops (claimed, left) and the product explained now. Each item is shaped like the stream
    item that announced it (`type` names it), so a client applies later items on top."""
    if isinstance(reader, Principal):
        check_permission(reader, Permission.SHOWS_READ)
    room = await _room(container, room_id)
    if reader.shop_id != room.shop_id:
        raise RoomNotFound(f"room {room_id} not found")
    return await get_live_tools(container.db, request.app.state.interactions, room)
