"""The operator console's pages: sign in with a staff key, the shop's shows, a show's live view.

Pages are rendered on the server; the live view is then kept current by ``static/console.js``
over two sockets: ``/ws/console/shows/{id}`` (metrics and alerts, see :mod:`console_socket`) and
the room's own ``/ws/rooms/{room}`` (the comment stream, joined as staff). Signing in stores the
key in an HttpOnly cookie (:mod:`console_auth`); a page without a valid one sends you to sign in.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Final
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from liveloop import __version__
from liveloop.core.container import ContainerDep
from liveloop.core.errors import LiveloopError
from liveloop.rooms import ShowCard, ShowNotFound, ShowState, get_show_card, get_show_cards
from liveloop.shops import Permission, Principal, check_permission, get_shop
from liveloop.web.console_auth import (
    clear_staff_cookie,
    console_principal,
    principal_for_key,
    same_origin,
    set_staff_cookie,
)
from liveloop.web.console_i18n import console_strings
from liveloop.web.i18n import other_language, pick_language
from liveloop.web.templating import CONSOLE_PAGE_HEADERS, templates

router = APIRouter(include_in_schema=False)

MAX_FORM_BYTES: Final = 4096
MAX_SHOW_ID: Final = 2**53
_STATE_CLASS: Final = {
    ShowState.LIVE: "is-live",
    ShowState.SCHEDULED: "is-scheduled",
    ShowState.ENDED: "is-ended",
    ShowState.CANCELLED: "is-cancelled",
}


def _render(name: str, status: int, **context: Any) -> HTMLResponse:
    html = templates().get_template(f"console/{name}").render(version=__version__, **context)
    return HTMLResponse(html, status_code=status, headers=CONSOLE_PAGE_HEADERS)


def _with_lang(path: str, lang: str, **params: str) -> str:
    """``path`` in ``lang`` (zh-CN is the default and needs no parameter)."""
    query = {k: v for k, v in params.items() if v} | ({"lang": lang} if lang != "zh-CN" else {})
    return f"{path}?{urlencode(query)}" if query else path


def _common(request: Request, lang: str) -> dict[str, Any]:
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    return {
        "lang": lang,
        "t": console_strings(lang),
        "language_link": _with_lang(request.url.path, other_language(lang), **params),
        "link": functools.partial(_with_lang, lang=lang),
    }


def _safe_next(value: str | None) -> str:
    """Where to go after signing in: a console page of this site, never elsewhere."""
    if value and value.startswith("/console") and "//" not in value and "\\" not in value:
        return value
    return "/console"


def _to_login(request: Request, lang: str) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(_with_lang("/console/login", lang, next=target), status_code=303)


def _allowed(principal: Principal, permission: Permission) -> bool:
    try:
        check_permission(principal, permission)
    except LiveloopError:
        return False
    return True


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment is not None else ""


async def _shop_context(container: ContainerDep, principal: Principal) -> dict[str, Any]:
    shop = await get_shop(container.db, principal)
    return {"shop_name": shop.name, "timezone": shop.timezone, "role": principal.role.value}


@router.get("/console/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    lang = pick_language(request.query_params.get("lang"))
    next_page = _safe_next(request.query_params.get("next"))
    if await console_principal(request) is not None:
        return RedirectResponse(next_page, status_code=303)
    return _render("login.html", 200, error=None, next_page=next_page, **_common(request, lang))


@router.post("/console/login", response_class=HTMLResponse)
async def login(request: Request, container: ContainerDep) -> Response:
    lang = pick_language(request.query_params.get("lang"))
    common = _common(request, lang)
    body = await request.body()
    form = parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace")) if len(body) <= MAX_FORM_BYTES else {}
    next_page = _safe_next((form.get("next") or [""])[0])
    key = (form.get("key") or [""])[0].strip()
    error = None
    if not same_origin(request.headers.get("origin"), request.headers.get("host")):
        error, status = "login_error_origin", 403
    elif not key:
        error, status = "login_error_empty", 400
    elif await principal_for_key(container, key) is None:
        error, status = "login_error_invalid", 401
    if error is not None:
        return _render("login.html", status, error=error, next_page=next_page, **common)
    response = RedirectResponse(next_page, status_code=303)
    set_staff_cookie(response, key, secure=request.url.scheme == "https")
    return response


@router.post("/console/logout")
async def logout(request: Request) -> Response:
    lang = pick_language(request.query_params.get("lang"))
    if not same_origin(request.headers.get("origin"), request.headers.get("host")):
        return Response(status_code=403)
    response = RedirectResponse(_with_lang("/console/login", lang), status_code=303)
    clear_staff_cookie(response, secure=request.url.scheme == "https")
    return response


@router.get("/console", response_class=HTMLResponse)
async def shows_page(request: Request, container: ContainerDep) -> Response:
    lang = pick_language(request.query_params.get("lang"))
    principal = await console_principal(request)
    if principal is None:
        return _to_login(request, lang)
    shop = await _shop_context(container, principal)
    zone = ZoneInfo(shop["timezone"])
    rows = [
        {
            "card": card,
            "state_class": _STATE_CLASS[card.state],
            "planned": f"{_local(card.planned_start, zone)} – {_local(card.planned_end, zone)[11:]}",
        }
        for card in await get_show_cards(container.db, principal)
    ]
    return _render("shows.html", 200, rows=rows, **shop, **_common(request, lang))


def _show_id(raw: str) -> int | None:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 16:
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_SHOW_ID else None


def _live_config(card: ShowCard, principal: Principal, lang: str, timezone: str) -> dict[str, Any]:
    return {
        "showId": card.show_id,
        "roomId": card.room_id,
        "state": card.state.value,
        "lang": lang,
        "timezone": timezone,
        "can": {
            "control": _allowed(principal, Permission.SHOWS_CONTROL),
            "moderate": _allowed(principal, Permission.MODERATE),
        },
        "strings": dict(console_strings(lang)),
    }


@router.get("/console/shows/{show_id}", response_class=HTMLResponse)
async def live_view(request: Request, container: ContainerDep, show_id: str) -> Response:
    lang = pick_language(request.query_params.get("lang"))
    principal = await console_principal(request)
    if principal is None:
        return _to_login(request, lang)
    common = _common(request, lang)
    shop = await _shop_context(container, principal)
    number = _show_id(show_id)
    try:
        if number is None:
            raise ShowNotFound(f"show {show_id} not found")
        card = await get_show_card(container.db, principal, number)
    except ShowNotFound:
        return _render("not_found.html", 404, **shop, **common)
    zone = ZoneInfo(shop["timezone"])
    return _render(
        "show.html",
        200,
        card=card,
        state_class=_STATE_CLASS[card.state],
        planned=f"{_local(card.planned_start, zone)} – {_local(card.planned_end, zone)[11:]}",
        config=_live_config(card, principal, lang, shop["timezone"]),
        **shop,
        **common,
    )
