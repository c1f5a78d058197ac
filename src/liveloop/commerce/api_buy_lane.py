"""The buy route's fast lane: well-formed ``POST /api/v1/buyer/orders`` requests skip FastAPI's
routing, dependency solving and request wrapping.

In a flash sale nearly every request is this one, and nearly every answer a cheap "sold out". On a
slow core FastAPI's machinery around the route cost ~350 us of CPU per answer, more than the token
check and the grab together (measured in process: ~900 us per sold-out answer through the route,
~550 us through this lane).

The lane serves only requests whose every input is well-formed: ``Content-Type: application/json``,
a body that :class:`~liveloop.commerce.api_buyer.BuyerOrderIn` accepts (parsed as FastAPI parses
it) and, when sent, a valid ``Idempotency-Key`` header. Anything else goes on, untouched, to the
FastAPI route, which answers it as it always has. Both serve a request with the same code: the
``current_buyer`` scheme (the token), :func:`~liveloop.commerce.api_buyer.buy` (the order), the
app's middleware and error handlers. The route stays the one the OpenAPI document describes.
"""

from __future__ import annotations

import json

from fastapi.routing import APIRoute
from pydantic import TypeAdapter
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from liveloop.commerce.api_buyer import BuyerOrderIn, Key, buy, current_buyer, place_order, router

__all__ = ["BuyLane", "buy_lane", "well_formed_order"]

#: Set in the scope of a request the lane passed on, so that it does not take it again.
_PASSED = "liveloop.buy_lane.passed"
_KEY = TypeAdapter(Key)


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


class BuyLane(Route):
    """A Starlette route for ``POST`` at the buy route's path, tried before every other route.

    It matches nothing else (other methods find the FastAPI route, as before) and reports the
    FastAPI route as the scope's ``route``, so the metrics label is the same on both paths.
    """

    def __init__(self, path: str, *, operation: APIRoute, fallback: ASGIApp) -> None:
        super().__init__(path, _Lane(fallback), methods=["POST"], include_in_schema=False)
        self.operation = operation

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["method"] != "POST" or _PASSED in scope:
            return Match.NONE, {}
        match, child_scope = super().matches(scope)
        if match is not Match.FULL:
            return Match.NONE, {}
        return match, {**child_scope, "route": self.operation}


class _Lane:
    """The lane's ASGI app: serve a well-formed order, pass anything else on to ``fallback``."""

    def __init__(self, fallback: ASGIApp) -> None:
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            body = await request.body()
        except Exception as exc:  # as FastAPI answers a body it could not read
            raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc
        parsed = well_formed_order(request.headers, body)
        if parsed is None:
            scope[_PASSED] = True
            await self.fallback(scope, _replay(body, receive), send)
            return
        order, idempotency_key = parsed
        buyer = await current_buyer(request)
        placed, replayed = await buy(request, buyer=buyer, body=order, idempotency_key=idempotency_key)
        response = Response(
            placed.model_dump_json(by_alias=True),
            status_code=200 if replayed else 201,
            headers={"Idempotent-Replayed": "true"} if replayed else None,
            media_type="application/json",
        )
        await response(scope, receive, send)


def buy_lane(*, prefix: str, fallback: ASGIApp) -> BuyLane:
    """The lane for the buy route of ``api_buyer.router`` mounted at ``prefix``; ``fallback`` (the
    app's router) serves what the lane passes on."""
    operation = next(r for r in router.routes if isinstance(r, APIRoute) and r.endpoint is place_order)
    return BuyLane(prefix + operation.path, operation=operation, fallback=fallback)


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` for a request whose body was read already: the body, then the real messages."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay
