"""Staff view of a live room right now: global counts, plus what this node had to drop."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from liveloop.core.container import ContainerDep
from liveloop.core.schemas import ERROR_RESPONSES
from liveloop.realtime.keys import ScopeKeys, presence_key
from liveloop.realtime.node import RealtimeNode
from liveloop.rooms import RoomNotFound, get_live_show_id, get_room_shop_id
from liveloop.shops import Permission, PrincipalDep, check_permission

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["live"])


class RoomLiveOut(BaseModel):
    room_id: int
    show_id: int | None = Field(description="The live show the figures belong to (null: between shows).")
    online: int = Field(description="在线人数: viewers with a heartbeat in the last 60 s.")
    peak_online: int
    views: int = Field(description="观看人次 (PV): entries, re-entries counted.")
    unique_viewers: int = Field(description="观看人数 (UV): distinct viewers (approximate on Redis, ±0.81%).")
    likes: int
    shares: int
    follows: int
    comments: int
    watch_seconds: int = Field(description="Watch seconds of sessions that have ended.")
    dropped_comments_this_node: int = Field(
        description="Comments left out of ticks by sampling on this node."
    )
    sockets_this_node: int


@router.get("/rooms/{room_id}/live", response_model=RoomLiveOut)
async def read_room_live(
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    room_id: Annotated[int, Path(ge=1, le=2**53)],
) -> RoomLiveOut:
    check_permission(principal, Permission.ROOMS_READ)
    async with container.db.read() as session:
        if await get_room_shop_id(session, room_id) != principal.shop_id:
            raise RoomNotFound(f"room {room_id} not found")
        show_id = await get_live_show_id(session, room_id)
    keys = ScopeKeys.of(room_id=room_id, show_id=show_id)
    counters = container.counters
    peak, views, likes, shares, follows, comments, watch = await counters.get_many(
        [keys.peak, keys.pv, keys.likes, keys.shares, keys.follows, keys.comments, keys.watch_seconds]
    )
    node: RealtimeNode = request.app.state.realtime.node
    local = node.rooms.get(room_id)
    return RoomLiveOut(
        room_id=room_id,
        show_id=show_id,
        online=await counters.count_presence(presence_key(room_id)),
        peak_online=peak,
        views=views,
        unique_viewers=await counters.count_distinct(keys.uv),
        likes=likes,
        shares=shares,
        follows=follows,
        comments=comments,
        watch_seconds=watch,
        dropped_comments_this_node=local.hub.dropped_comments if local else 0,
        sockets_this_node=local.hub.peer_count if local else 0,
    )
