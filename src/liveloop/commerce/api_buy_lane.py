"""The buy route's fast lane: well-formed ``POST /api/v1/buyer/orders`` requests are served in front
of FastAPI, its middleware stack, routing, dependency solving and request wrapping.

In a flash sale nearly every request is this one, and nearly every answer a cheap "sold out". Each
layer a request passes costs a coroutine and a ``send`` wrapper; py-spy of a sold-out answer put
~30 % of the server's CPU in the middleware stack and routing alone (session 6) after the lane had
already skipped FastAPI's routing and dependency solving (session 5).

The lane serves only requests whose every input is well-formed: ``Content-Type: application/json``,
an ``Authorization: Bearer <token>`` header, a ``Content-Length`` within the app's body limit, a body that
:class:`~liveloop.commerce.api_buyer.BuyerOrderIn` accepts (parsed as FastAPI parses it) and, when
sent, a valid ``Idempotency-Key`` header. Anything else goes on, untouched (body replayed), through
the whole app to the FastAPI route, which answers it as it always has and which the OpenAPI
document describes. What the skipped layers do for a served request the lane does itself, with the
app's own parts: the same ``current_buyer`` scheme (the token), :func:`~liveloop.commerce.api_buyer.buy`
(the order), the app's exception handlers (looked up as Starlette's middleware looks them up) and
its HTTP metrics, under the route's template. ``tests/commerce/test_buy_lane.py`` holds both paths
to the same bytes.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from fastapi.routing import APIRoute
from pydantic import TypeAdapter
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from liveloop.commerce.api_buyer import BuyerOrderIn, Key, buy, buyer_for, place_order, router

__all__ = ["BuyLane", "Observe", "buy_path", "well_formed_order"]

_KEY = TypeAdapter(Key)
#: ``observe(method, route template, status, seconds)``: the app's HTTP metrics.
Observe = Callable[[str, str, int, float], None]
_Handler = Callable[[Request, Exception], Any]


def well_formed_order(headers: Headers, body: bytes) -> tuple[BuyerOrderIn, str | None] | None:
    """The order and the ``Idempotency-Key`` header of a request the lane may serve, else None."""
    if headers.get("content-type") != "application/json":
        return None
    try:
        # json.loads, then the model's Python-mode validation: what FastAPI does with this body.
        order = BuyerOrderIn.model_validate(json.loads(body))
        key = headers.get("idempotency-key")
        return order, None if key is None else _KEY.validate_python(key)
    except (ValueError, RecursionError):  # JSON, Unicode and validation errors are ValueErrors
        return None


def _bearer_token(scope: Scope, max_bytes: int) -> str | None:
    """The request's bearer token when the request is the lane's to serve (JSON declared, a
    ``Content-Length`` within ``max_bytes``, ``Authorization: Bearer <token>``), else None.

    The token is what FastAPI's ``HTTPBearer`` reads from the first ``Authorization`` header; any
    other form of the header (another scheme, other case, no token) is left to the route.
    """
    length = authorization = None
    json_body = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            if length is not None or not value.isdigit():
                return None
            length = int(value)
        elif name == b"authorization":
            authorization = value if authorization is None else authorization
        elif name == b"content-type":
            json_body = value == b"application/json"
    if length is None or length > max_bytes or not json_body or authorization is None:
        return None
    if not authorization.startswith(b"Bearer "):
        return None
    token = authorization[7:].strip().decode("latin-1")
    return token or None


class BuyLane:
    """The ASGI app the outermost layer (:class:`liveloop.web.asgi.LiveloopApp`) hands requests for
    the buy route's path. ``fallback`` (the app with its whole stack) serves what the lane passes
    on; ``app`` is the app itself (``request.app``), whose exception handlers the lane uses."""

    def __init__(
        self, *, path: str, app: Starlette, fallback: ASGIApp, observe: Observe, max_body_bytes: int
    ) -> None:
        self.path = path
        self.app = app
        self.fallback = fallback
        self.observe = observe
        self.max_body_bytes = max_body_bytes

    @property
    def handlers(self) -> Mapping[Any, _Handler]:
        found: Mapping[Any, _Handler] = self.app.exception_handlers
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _bearer_token(scope, self.max_body_bytes) if scope["method"] == "POST" else None
        if token is None:
            await self.fallback(scope, receive, send)
            return
        started = time.perf_counter()
        body = b""
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left: nobody to answer
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        request = Request(scope, receive)
        parsed = well_formed_order(request.headers, body)
        if parsed is None:
            await self.fallback(scope, _replay(body, receive), send)
            return
        scope["app"] = self.app  # what Starlette sets: ``request.app`` is the app
        try:
            response = await self._serve(request, token, *parsed)
        except Exception as exc:
            self.observe("POST", self.path, 500, time.perf_counter() - started)
            await self._unexpected(request, exc, send)
            raise
        await response(scope, receive, send)
        self.observe("POST", self.path, response.status_code, time.perf_counter() - started)

    async def _serve(
        self, request: Request, token: str, order: BuyerOrderIn, idempotency_key: str | None
    ) -> Response:
        try:
            buyer = await buyer_for(request, token)
            placed, replayed = await buy(request, buyer=buyer, body=order, idempotency_key=idempotency_key)
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise
            return await _answer(handler, request, exc)
        return Response(
            placed.model_dump_json(by_alias=True),
            status_code=200 if replayed else 201,
            headers={"Idempotent-Replayed": "true"} if replayed else None,
            media_type="application/json",
        )

    def _handler(self, exc: Exception) -> _Handler | None:
        """The app's handler for ``exc`` as Starlette's ExceptionMiddleware finds it: by status code
        for an HTTPException, else by the nearest class (``Exception``'s is the 500 page's)."""
        handlers = self.handlers
        if isinstance(exc, HTTPException) and exc.status_code in handlers:
            return handlers[exc.status_code]
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            if cls in handlers:
                return handlers[cls]
        return None

    async def _unexpected(self, request: Request, exc: Exception, send: Send) -> None:
        """Answer 500 as Starlette's ServerErrorMiddleware does, before the error goes on up."""
        handler = self.handlers.get(500) or self.handlers.get(Exception)
        if handler is None:
            response = Response("Internal Server Error", status_code=500, media_type="text/plain")
        else:
            response = await _answer(handler, request, exc)
        await response(request.scope, request.receive, send)


async def _answer(handler: _Handler, request: Request, exc: Exception) -> Response:
    """What an exception handler answers (Starlette takes plain and async handlers alike)."""
    answer = handler(request, exc)
    response: Response = await answer if inspect.isawaitable(answer) else answer
    return response


def buy_path() -> str:
    """The buy route's path (its template: it has no parameters)."""
    operation = next(r for r in router.routes if isinstance(r, APIRoute) and r.endpoint is place_order)
    return operation.path


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` for a request whose body was read already: the body, then the real messages."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay
