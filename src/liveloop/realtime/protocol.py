"""The live-room WebSocket protocol, version 1: every frame a JSON object with a ``type``.

Client -> server frames are parsed with :data:`CLIENT_FRAME` (unknown fields and types are an
error frame, never a crash). Server -> client frames are documented by the ``*Out`` models; the
hot path builds them as dicts and encodes them once per tick. ``docs/protocol.md`` explains the
flow; ``protocol_schema()`` is the JSON Schema published beside it.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from liveloop.realtime.protocol_tools import (
    AckResult,
    AskIn,
    BuyIn,
    EnterLotteryIn,
    GrabIn,
    Ref,
    SeatCancelIn,
    SeatRequestIn,
    UpvoteIn,
    VoteIn,
)

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 4096


class CloseCode(IntEnum):
    """Application close codes (4000-4999) a client may see, with the reason string."""

    IDLE_TIMEOUT = 4000  # "timeout": no frame (ping) for the presence window
    UNAUTHORIZED = 4001  # "unauthorized": bad, expired or foreign token
    FORBIDDEN = 4003  # "banned": the viewer is banned from this room
    NOT_FOUND = 4004  # "room_not_found"
    SLOW_CONSUMER = 4008  # "slow_consumer": the socket fell too far behind; resume from its offset
    KICKED = 4009  # "kicked": removed by a moderator
    FLOODING = 4029  # "flooding": too many invalid or rate-limited frames
    UNSUPPORTED = 4400  # "unsupported_version"


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class CommentIn(_Frame):
    type: Literal["comment"]
    text: Annotated[str, Field(max_length=1000)]
    ref: Ref | None = None


class LikeIn(_Frame):
    """Taps batched by the client: one frame per 100 ms or so, carrying how many taps."""

    type: Literal["like"]
    count: Annotated[int, Field(ge=1, le=500)] = 1


class ShareIn(_Frame):
    type: Literal["share"]
    channel: Annotated[str, Field(max_length=16)] = "link"


class FollowIn(_Frame):
    type: Literal["follow"]


class PingIn(_Frame):
    """Heartbeat: send one at least every 30 s (a session ends after 60 s of silence)."""

    type: Literal["ping"]
    ref: Ref | None = None


class HostMessageIn(_Frame):
    """Staff only: a message in the never-dropped lane (shown highlighted)."""

    type: Literal["host_message"]
    text: Annotated[str, Field(min_length=1, max_length=500)]
    ref: Ref | None = None


class ModerateIn(_Frame):
    """Staff only (host, moderator, operator, owner)."""

    type: Literal["moderate"]
    action: Literal["mute", "ban", "unban", "kick", "delete", "pin", "unpin"]
    viewer_id: Annotated[str, Field(max_length=66)] | None = None
    offset: Annotated[int, Field(ge=1)] | None = None
    seconds: Annotated[int, Field(ge=1, le=7 * 86400)] | None = None
    reason: Annotated[str, Field(max_length=200)] = ""
    ref: Ref | None = None


class ProductIn(_Frame):
    """What the viewer did with a product of the live show's line-up: saw it (exposure; only the first
    per viewer and show counts), tapped it (click) or added it to the cart (add_to_cart)."""

    type: Literal["product"]
    kind: Literal["exposure", "click", "add_to_cart"]
    product_id: Annotated[int, Field(ge=1, le=2**53)]
    surface: Literal["card", "bag", "pinned"]
    quantity: Annotated[int, Field(ge=1, le=99, description="add_to_cart: units added.")] = 1
    ref: Ref | None = None


ClientFrame = Annotated[
    CommentIn
    | LikeIn
    | ShareIn
    | FollowIn
    | PingIn
    | HostMessageIn
    | ModerateIn
    | ProductIn
    | VoteIn
    | GrabIn
    | EnterLotteryIn
    | AskIn
    | UpvoteIn
    | SeatRequestIn
    | SeatCancelIn
    | BuyIn,
    Field(discriminator="type"),
]
CLIENT_FRAME: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)
STAFF_FRAMES = frozenset({"host_message", "moderate"})


class ViewerOut(BaseModel):
    id: str = Field(description='"u:<user id>" or "d:<device id>"')
    nickname: str
    guest: bool
    role: str | None = Field(description="Staff role, or null for a viewer.")


class ExplainingOut(BaseModel):
    show_id: int
    product_id: int
    name: str
    price_cents: int
    image_url: str | None


class HelloOut(BaseModel):
    """First frame after connecting; a snapshot or resume frame follows."""

    type: Literal["hello"]
    v: int
    room_id: int
    show_id: int | None
    viewer: ViewerOut
    explaining: ExplainingOut | None = Field(default=None, description="The product explained now (讲解中).")


class ItemOut(BaseModel):
    """An item of the room stream. ``data.type`` is comment, host_message, comment_deleted, pinned,
    unpinned, show_started, show_ended, or a live tool's item (poll_opened, poll_tally, poll_closed,
    red_packet, red_packet_grabbed, lottery_opened, lottery_drawn, ...: see docs/protocol.md)."""

    offset: int
    lane: Literal["priority", "comment", "notice"]
    data: dict[str, Any]


class EnteredOut(BaseModel):
    shown: list[dict[str, Any]]
    more: int


class TickOut(BaseModel):
    """One per room per tick (about every 100 ms) while something changed."""

    type: Literal["tick"]
    epoch: str
    offset: int = Field(description="Stream position after this frame; store it to resume.")
    items: list[ItemOut]
    counts: dict[str, int] = Field(description="Only the counts that changed: likes, online, shares...")
    entered: EnteredOut | None = None
    pinned: dict[str, Any] | None = None
    partial: bool | None = Field(default=None, description="True when comments were left out (slow socket).")


class SnapshotOut(BaseModel):
    type: Literal["snapshot"]
    epoch: str
    offset: int
    counts: dict[str, int]
    comments: list[ItemOut]
    pinned: dict[str, Any] | None


class ResumeOut(BaseModel):
    type: Literal["resume"]
    epoch: str
    offset: int
    items: list[ItemOut]
    counts: dict[str, int]
    pinned: dict[str, Any] | None


class AckOut(BaseModel):
    type: Literal["ack"]
    ref: str | None
    offset: int | None = Field(default=None, description="Where the comment landed in the stream.")
    result: AckResult | None = Field(
        default=None, description="What a live-tool frame did (see docs/protocol.md for each frame)."
    )


class PongOut(BaseModel):
    type: Literal["pong"]
    ref: str | None


class ErrorOut(BaseModel):
    type: Literal["error"]
    code: str = Field(description="Stable code, e.g. protocol.invalid_frame, interactions.slow_mode")
    message: str
    ref: str | None = None
    details: dict[str, Any] | None = None


ServerFrame = Annotated[
    HelloOut | TickOut | SnapshotOut | ResumeOut | AckOut | PongOut | ErrorOut, Field(discriminator="type")
]


def protocol_schema() -> dict[str, Any]:
    """The JSON Schema of both directions, as published in ``docs/protocol.schema.json``."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"liveloop live-room protocol v{PROTOCOL_VERSION}",
        "client_to_server": CLIENT_FRAME.json_schema(),
        "server_to_client": TypeAdapter(ServerFrame).json_schema(),
        "close_codes": {code.name.lower(): code.value for code in CloseCode},
        "max_frame_bytes": MAX_FRAME_BYTES,
    }
