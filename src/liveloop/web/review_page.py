"""The review page of the operator console: ``GET /console/shows/{show_id}/review``.

Signed in like the console (the staff key in the ``ll_staff_key`` cookie), or with
``Authorization: Bearer <staff key>`` for scripts; the same permission as the API
(``analytics.read``). Without a key the page sends you to sign in; with an invalid bearer key it
answers 401. The review itself is :func:`liveloop.analytics.review_service.get_review`.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from liveloop import __version__
from liveloop.analytics.review_service import get_review
from liveloop.core.container import ContainerDep
from liveloop.core.errors import LiveloopError
from liveloop.shops import get_shop
from liveloop.web.console_auth import principal_for_key, staff_key
from liveloop.web.i18n import other_language, pick_language
from liveloop.web.review_i18n import review_strings
from liveloop.web.review_render import render_review_html
from liveloop.web.templating import CONSOLE_PAGE_HEADERS, templates

router = APIRouter(include_in_schema=False)

ShowId = Annotated[int, Path(ge=1, le=2**53)]


def _link(path: str, lang: str, **params: str) -> str:
    query = params | ({"lang": lang} if lang != "zh-CN" else {})
    return f"{path}?{urlencode(query)}" if query else path


def _bearer(request: Request) -> tuple[bool, str | None]:
    """(an Authorization header was sent, its bearer key)."""
    header = request.headers.get("authorization")
    if header is None:
        return False, None
    scheme, _, key = header.partition(" ")
    return True, key.strip() if scheme.lower() == "bearer" and key.strip() else None


def _error(lang: str, status: int, code: str, message: str) -> HTMLResponse:
    t = review_strings(lang)
    html = (
        templates()
        .get_template("review_error.html")
        .render(
            lang=lang,
            heading=t["heading"],
            code=code,
            message=message,
            back=t["back_to_console"],
            console_link=_link("/console", lang),
            version=__version__,
        )
    )
    return HTMLResponse(html, status_code=status, headers=CONSOLE_PAGE_HEADERS)


@router.get("/console/shows/{show_id}/review", response_class=HTMLResponse)
async def review_page(request: Request, container: ContainerDep, show_id: ShowId) -> Response:
    lang = pick_language(request.query_params.get("lang"))
    sent, key = _bearer(request)
    principal = await principal_for_key(container, key if sent else staff_key(request.cookies))
    if principal is None:
        if sent:
            return _error(lang, 401, "auth.invalid_api_key", "send a valid staff key")
        target = _link(request.url.path, lang)
        return RedirectResponse(_link("/console/login", lang, next=target), status_code=303)
    try:
        review = await get_review(container, principal, show_id)
        shop = await get_shop(container.db, principal)
    except LiveloopError as exc:
        return _error(lang, exc.status, exc.code, exc.message)
    html = render_review_html(
        review,
        lang,
        timezone=shop.timezone,
        standalone=False,
        language_link=_link(request.url.path, other_language(lang)),
        console_link=_link(f"/console/shows/{show_id}", lang),
    )
    return HTMLResponse(html, headers=CONSOLE_PAGE_HEADERS)
