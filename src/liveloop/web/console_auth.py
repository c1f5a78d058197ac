"""The operator console's session: a staff API key kept in an HttpOnly cookie.

The console never shows the key to JavaScript. Its pages read the cookie on the server; its
scripts call the ordinary ``/api/v1`` routes with the cookie plus the ``X-Liveloop-Console``
header, and :class:`ConsoleSessionMiddleware` turns that pair into the ``Authorization: Bearer``
header those routes expect, so every REST rule (roles, shop scoping, the authorization matrix)
applies to the console unchanged. Cross-site requests carry neither: the cookie is
``SameSite=Strict`` and a custom header needs a CORS preflight this app never grants.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from fastapi import Request, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from liveloop.core.container import Container
from liveloop.core.errors import LiveloopError
from liveloop.shops import Principal, get_principal

#: The cookie holding the staff key (the review pages read the same one).
STAFF_COOKIE: Final = "ll_staff_key"
#: The header console scripts send with the cookie to call ``/api/v1`` routes.
CONSOLE_HEADER: Final = "x-liveloop-console"
COOKIE_MAX_AGE: Final = 12 * 3600
MAX_KEY_LENGTH: Final = 128


def set_staff_cookie(response: Response, key: str, *, secure: bool) -> None:
    response.set_cookie(
        STAFF_COOKIE,
        key,
        max_age=COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure,
    )


def clear_staff_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(STAFF_COOKIE, path="/", httponly=True, samesite="strict", secure=secure)


def staff_key(cookies: dict[str, str]) -> str | None:
    key = cookies.get(STAFF_COOKIE, "").strip()
    return key if key and len(key) <= MAX_KEY_LENGTH and key.isascii() else None


async def principal_for_key(container: Container, key: str | None) -> Principal | None:
    """The staff member ``key`` stands for, or None for no key or one that is not valid (any more)."""
    if not key:
        return None
    try:
        return await get_principal(container.db, key)
    except LiveloopError:
        return None


async def console_principal(request: Request) -> Principal | None:
    """The signed-in operator of a console page request (None: send them to the login page)."""
    container: Container = request.app.state.container
    return await principal_for_key(container, staff_key(request.cookies))


def same_origin(origin: str | None, host: str | None) -> bool:
    """True when a request's ``Origin`` (if the browser sent one) names this server's host."""
    if origin is None:
        return True
    if not host:
        return False
    return urlsplit(origin).netloc.lower() == host.lower()


class ConsoleSessionMiddleware:
    """For ``/api/v1`` requests with the console header and cookie but no ``Authorization``, add
    ``Authorization: Bearer <cookie key>``. Anything else passes through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/v1/"):
            headers: list[tuple[bytes, bytes]] = scope["headers"]
            names = {name for name, _ in headers}
            if CONSOLE_HEADER.encode() in names and b"authorization" not in names:
                key = _cookie_key(headers)
                if key is not None:
                    scope = dict(scope)
                    scope["headers"] = [*headers, (b"authorization", b"Bearer " + key.encode())]
        await self.app(scope, receive, send)


def _cookie_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name != b"cookie":
            continue
        for part in value.decode("latin-1").split(";"):
            cookie, _, raw = part.strip().partition("=")
            if cookie == STAFF_COOKIE:
                return staff_key({STAFF_COOKIE: raw})
    return None
