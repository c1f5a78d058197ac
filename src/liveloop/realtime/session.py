"""One socket's conversation: parse each client frame, check it, act, answer (ack or error)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
import structlog
from pydantic import ValidationError

from liveloop.commerce import CommerceContext
from liveloop.core.errors import LiveloopError
from liveloop.core.events import Event, EventBus, make_event
from liveloop.interactions import (
    InteractionsContext,
    check_comment,
    check_likes,
    check_share_channel,
    comment_posted_event,
    do_ban,
    do_delete_comment,
    do_kick,
    do_mute,
    do_note_comment,
    do_note_follow,
    do_pin,
    do_unban,
    do_unpin,
    follow_event,
    like_event,
    share_event,
)
from liveloop.realtime.events import HostMessagePosted
from liveloop.realtime.node import Connection, LocalRoom, RealtimeNode
from liveloop.realtime.peers import OutFrame
from liveloop.realtime.protocol import (
    CLIENT_FRAME,
    MAX_FRAME_BYTES,
    STAFF_FRAMES,
    ClientFrame,
    CommentIn,
    FollowIn,
    HostMessageIn,
    LikeIn,
    ModerateIn,
    PingIn,
    ProductIn,
    ShareIn,
)
from liveloop.realtime.session_tools import TOOL_FRAME_TYPES, ToolScope, run_tool
from liveloop.realtime.stream import Lane
from liveloop.rooms import ProductSignal, ShowNotLive, do_record_signals
from liveloop.shops import Principal, Viewer

T = TypeVar("T")
log = structlog.get_logger(__name__)


class FrameError(Exception):
    def __init__(
        self, code: str, message: str, *, details: dict[str, Any] | None = None, ref: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.ref = ref  # a refused frame's own ref, when it had a usable one


@dataclass(slots=True)
class FrameBudget:
    """Per-socket flood guard: a token bucket of ``rate`` frames/s (bursts of ``burst``), and
    strikes for refused frames (over budget, unparseable) counted per minute: ``max_strikes`` in
    one minute closes the socket with 4029."""

    rate: float = 20.0
    burst: float = 40.0
    max_strikes: int = 50
    tokens: float = 40.0
    stamp: float = field(default_factory=time.monotonic)
    strikes: int = 0
    window: float = field(default_factory=time.monotonic)

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.strike()
        return False

    def strike(self) -> None:
        now = time.monotonic()
        if now - self.window > 60:
            self.window, self.strikes = now, 0
        self.strikes += 1

    @property
    def exhausted(self) -> bool:
        return self.strikes >= self.max_strikes


@dataclass(slots=True)
class RoomSession:
    node: RealtimeNode
    room: LocalRoom
    conn: Connection
    viewer: Viewer
    interactions: InteractionsContext
    events: EventBus
    commerce: CommerceContext | None = None  # None: the server takes no orders (``buy`` is refused)
    budget: FrameBudget = field(default_factory=FrameBudget)

    def __post_init__(self) -> None:
        cfg = self.node.config
        self.budget = FrameBudget(
            rate=cfg.frames_per_second,
            burst=cfg.frame_burst,
            max_strikes=cfg.max_strikes,
            tokens=cfg.frame_burst,
        )

    def send(self, body: dict[str, Any]) -> None:
        self.conn.peer.write(OutFrame(orjson.dumps(body)))

    def error(self, code: str, message: str, *, ref: str | None = None, details: Any = None) -> None:
        body: dict[str, Any] = {"type": "error", "code": code, "message": message, "ref": ref}
        if details:
            body["details"] = details
        self.send(body)

    @property
    def flooding(self) -> bool:
        return self.budget.exhausted

    async def handle_text(self, text: str) -> None:
        """Handle one client frame; every refusal is an error frame, never an exception."""
        self.conn.last_seen = time.monotonic()
        if not self.budget.take():
            self.error("protocol.rate_limited", "too many frames; slow down")
            return
        ref = None
        try:
            if len(text) > MAX_FRAME_BYTES or len(text.encode()) > MAX_FRAME_BYTES:
                raise FrameError("protocol.frame_too_large", f"frames are at most {MAX_FRAME_BYTES} bytes")
            frame = _parse(text)
            ref = getattr(frame, "ref", None)
            await self._dispatch(frame)
        except FrameError as exc:
            self.budget.strike()
            self.error(exc.code, exc.message, ref=ref or exc.ref, details=exc.details)
        except LiveloopError as exc:
            details = exc.details if isinstance(exc.details, dict) else None
            self.error(exc.code, exc.message, ref=ref, details=details)
        except Exception as exc:  # noqa: BLE001 - one frame failed; the socket and the room go on
            # As the HTTP API's 500: the client may retry (a buy with the same idempotency key).
            log.error("room frame failed", room_id=self.room.room_id, error=f"{type(exc).__name__}: {exc}")
            self.error("internal_error", "internal server error; try again", ref=ref)

    async def _dispatch(self, frame: ClientFrame) -> None:
        if frame.type in STAFF_FRAMES and not self.viewer.is_staff:
            raise FrameError("protocol.forbidden", f"{frame.type} is for staff only")
        if isinstance(frame, TOOL_FRAME_TYPES):
            scope = ToolScope(self.room, self.viewer, self.interactions, self.events, self.commerce)
            result = await run_tool(scope, frame)
            self.send({"type": "ack", "ref": frame.ref, "offset": None, "result": result})
            return
        match frame:
            case PingIn():
                await self.node.heartbeat(self.room, self.conn)
                self.send({"type": "pong", "ref": frame.ref})
            case CommentIn():
                await self._comment(frame)
            case LikeIn():
                self.room.like_delta += check_likes(frame.count)
                self.events.emit(like_event(**self._ids(), count=frame.count))
            case ShareIn():
                self._require_login("share")
                share_event_ = share_event(**self._ids(), channel=check_share_channel(frame.channel).value)
                await self.node.counters.incr(self.room.keys.shares)
                self.events.emit(share_event_)
            case FollowIn():
                self._require_login("follow")
                await self.node.counters.incr(self.room.keys.follows)
                self.events.emit(follow_event(**self._ids()))
                # What a lottery's follow rule checks (REST has no follow route: the socket is the way).
                await do_note_follow(
                    self.interactions,
                    shop_id=self.room.shop_id,
                    room_id=self.room.room_id,
                    viewer_id=self.viewer.viewer_id,
                )
            case HostMessageIn():
                await self._host_message(frame)
            case ModerateIn():
                await self._moderate(frame)
            case ProductIn():
                await self._product(frame)

    def _ids(self) -> dict[str, Any]:
        return {
            "shop_id": self.room.shop_id,
            "room_id": self.room.room_id,
            "viewer_id": self.viewer.viewer_id,
            "show_id": self.room.show_id,
        }

    def _require_login(self, what: str) -> None:
        if self.viewer.is_guest:
            raise FrameError("protocol.login_required", f"sign in to {what}")

    async def _comment(self, frame: CommentIn) -> None:
        self._require_login("comment")
        decision = await check_comment(
            self.interactions,
            shop_id=self.room.shop_id,
            room_id=self.room.room_id,
            viewer_id=self.viewer.viewer_id,
            text=frame.text,
        )
        data = {
            "type": "comment",
            "id": uuid.uuid4().hex[:16],
            "viewer": {"id": self.viewer.viewer_id, "nickname": self.viewer.nickname},
            "text": decision.text,
            "masked": decision.masked,
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        if self.viewer.is_staff:
            data["staff"] = True
        offset = await self.node.publish_to(self.room.room_id, Lane.COMMENT, data)
        await self.node.counters.incr(self.room.keys.comments)
        ack: dict[str, Any] = {"type": "ack", "ref": frame.ref, "offset": offset}
        entered = await self._note_comment(decision.text)
        if entered:
            ack["result"] = {"lottery_id": entered[0].data["lottery_id"]}
        self.send(ack)
        self.events.emit(comment_posted_event(decision, offset=offset, show_id=self.room.show_id))
        self.events.emit_many(entered)

    async def _note_comment(self, text: str) -> tuple[Event, ...]:
        """Enter the author in the room's keyword lottery when ``text`` has its keyword; a failure here
        must not lose the comment, which has landed already."""
        try:
            return await do_note_comment(
                self.interactions,
                shop_id=self.room.shop_id,
                room_id=self.room.room_id,
                viewer_id=self.viewer.viewer_id,
                nickname=self.viewer.nickname,
                text=text,
            )
        except Exception:
            log.exception("could not check a comment against the room's lottery", room_id=self.room.room_id)
            return ()

    async def _product(self, frame: ProductIn) -> None:
        """A showcase signal about the live show's product (the same use case as its REST route)."""
        if self.room.show_id is None:
            raise ShowNotLive("no show is live in this room")
        signal = ProductSignal(frame.kind, frame.product_id, frame.surface, frame.quantity)
        events = await do_record_signals(
            self.interactions.db, self.node.counters, self.viewer, self.room.show_id, [signal]
        )
        self.send({"type": "ack", "ref": frame.ref, "offset": None})
        self.events.emit_many(events)

    async def _host_message(self, frame: HostMessageIn) -> None:
        staff_id = _staff_id(self.viewer)
        data = {
            "type": "host_message",
            "text": frame.text,
            "staff": {"id": staff_id, "nickname": self.viewer.nickname, "role": str(self.viewer.staff_role)},
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        offset = await self.node.publish_to(self.room.room_id, Lane.PRIORITY, data)
        self.send({"type": "ack", "ref": frame.ref, "offset": offset})
        payload = HostMessagePosted(text=frame.text, offset=offset, staff_id=staff_id)
        self.events.emit(
            make_event(
                payload,
                shop_id=self.room.shop_id,
                room_id=self.room.room_id,
                show_id=self.room.show_id,
                actor=f"staff:{staff_id}",
            )
        )

    async def _moderate(self, frame: ModerateIn) -> None:
        assert self.viewer.staff_role is not None
        principal = Principal(
            shop_id=self.room.shop_id,
            staff_id=_staff_id(self.viewer),
            role=self.viewer.staff_role,
            api_key_id=0,
        )
        ctx, room_id = self.interactions, self.room.room_id
        match frame.action:
            case "mute":
                decision = await do_mute(
                    ctx, principal, room_id, viewer_id=_need(frame.viewer_id), seconds=frame.seconds or 600
                )
            case "ban":
                decision = await do_ban(
                    ctx, principal, room_id, viewer_id=_need(frame.viewer_id), reason=frame.reason
                )
            case "unban":
                decision = await do_unban(ctx, principal, room_id, viewer_id=_need(frame.viewer_id))
            case "kick":
                decision = await do_kick(
                    ctx, principal, room_id, viewer_id=_need(frame.viewer_id), reason=frame.reason
                )
            case "delete":
                decision = await do_delete_comment(
                    ctx, principal, room_id, offset=_need(frame.offset), reason=frame.reason
                )
            case "pin":
                offset = _need(frame.offset)
                decision = await do_pin(
                    ctx, principal, room_id, offset=offset, text=self._comment_text(offset)
                )
            case "unpin":
                decision = await do_unpin(ctx, principal, room_id)
        self.events.emit_many(decision.events)
        self.send({"type": "ack", "ref": frame.ref, "offset": None})

    def _comment_text(self, offset: int) -> str:
        for item in self.room.hub.history:
            if item.offset == offset and item.data.get("type") in ("comment", "host_message"):
                return str(item.data.get("text", ""))
        raise FrameError("protocol.unknown_offset", f"no recent message at offset {offset}")


def _parse(text: str) -> ClientFrame:
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise FrameError("protocol.invalid_json", "frame is not valid JSON") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise FrameError("protocol.invalid_frame", 'a frame is a JSON object with a "type"')
    try:
        return CLIENT_FRAME.validate_python(raw)
    except ValidationError as exc:
        ref = raw.get("ref")
        ref = ref if isinstance(ref, str) and len(ref) <= 64 else None  # echoed, so the client can match it
        first = exc.errors()[0]
        if first["type"] == "union_tag_invalid":
            raise FrameError(
                "protocol.unknown_type", f"unknown frame type {raw['type']!r}", ref=ref
            ) from None
        where = ".".join(str(p) for p in first["loc"][1:])
        raise FrameError(
            "protocol.invalid_frame", f"{where}: {first['msg']}", details={"field": where}, ref=ref
        ) from None


def _need(value: T | None) -> T:
    if value is None:
        raise FrameError("protocol.invalid_frame", "this action needs viewer_id or offset")
    return value


def _staff_id(viewer: Viewer) -> int:
    return int(viewer.viewer_id.removeprefix("s:"))
