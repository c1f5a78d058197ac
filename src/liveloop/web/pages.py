"""Public HTML pages: the phone-first live room a viewer opens from the shop's app or a share link.

The page is rendered once on the server (room, show, player) and then kept live by
``static/live.js`` over the room socket. It needs no staff key; the viewer token, if any, stays
in the page's own URL and is only ever sent to this server's socket.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from liveloop import __version__
from liveloop.core.container import ContainerDep
from liveloop.rooms import RoomPage, get_room_page
from liveloop.web.i18n import other_language, pick_language, ui_strings
from liveloop.web.live_csp import live_page_policy
from liveloop.web.live_state import get_live_state

router = APIRouter(include_in_schema=False)

MAX_ROOM_ID = 2**53
# The token travels in the page URL: never leak it in a Referer, never cache the page.
# No inline scripts (the JSON config block is data, not script); media may come from any CDN.
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self' https: http: blob:; connect-src 'self'; base-uri 'none'; "
        "frame-ancestors 'self'; form-action 'self'"
    ),
}

PlayerKind = Literal["video", "hls", "app_only", "none"]


@dataclass(frozen=True, slots=True)
class Player:
    kind: PlayerKind
    url: str | None = None


def player_for(playback_url: str | None) -> Player:
    """How the page can play ``playback_url``: a ``<video>`` (mp4, webm, ...), HLS, or not at all."""
    if not playback_url:
        return Player("none")
    parts = urlsplit(playback_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return Player("none")
    path = parts.path.lower()
    if path.endswith(".m3u8"):
        return Player("hls", playback_url)
    if path.endswith((".flv", ".f4v")):
        return Player("app_only", playback_url)
    return Player("video", playback_url)


@functools.cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("liveloop.web", "templates"),
        autoescape=select_autoescape(("html",)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _render(name: str, status: int, **context: Any) -> HTMLResponse:
    html = _templates().get_template(name).render(version=__version__, **context)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _language_link(request: Request, lang: str) -> str:
    """This page's URL in the other language, keeping every other query parameter."""
    target = other_language(lang)
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    if target != "zh-CN":
        params.append(("lang", target))
    return f"{request.url.path}?{urlencode(params)}" if params else request.url.path


def _room_id(raw: str) -> int | None:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 16:
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ROOM_ID else None


@router.get("/live/{room_id}", response_class=HTMLResponse)
async def live_room_page(request: Request, container: ContainerDep, room_id: str) -> HTMLResponse:
    lang = pick_language(request.query_params.get("lang"))
    strings = ui_strings(lang)
    number = _room_id(room_id)
    room: RoomPage | None = await get_room_page(container.db, number) if number is not None else None
    common = {"lang": lang, "t": strings, "language_link": _language_link(request, lang)}
    if room is None:
        return _render("not_found.html", 404, **common)
    player = player_for(room.playback_url)
    config = {
        "roomId": room.room_id,
        "showId": room.show_id,
        "lang": lang,
        "strings": dict(strings),
        "live": await get_live_state(container.db, request.app.state.interactions, room),
    }
    response = _render("live.html", 200, room=room, player=player, config=config, **common)
    signed_in = bool(request.query_params.get("token"))
    csp = response.headers["Content-Security-Policy"]
    response.headers["Content-Security-Policy"] = live_page_policy(csp, room, signed_in=signed_in)
    return response
