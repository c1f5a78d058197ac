"""The error hierarchy every domain draws from.

Each error carries a stable string ``code`` (what API clients match on) and the HTTP status
the web layer answers with. Domains subclass these in their own ``errors.py``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class LiveloopError(Exception):
    """Base of every expected, client-visible error."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(LiveloopError):
    code = "request.invalid"
    status = 422


class NotFound(LiveloopError):
    code = "not_found"
    status = 404


class Conflict(LiveloopError):
    code = "conflict"
    status = 409


class Unauthenticated(LiveloopError):
    code = "auth.unauthenticated"
    status = 401


class Forbidden(LiveloopError):
    code = "auth.forbidden"
    status = 403


class RateLimited(LiveloopError):
    code = "rate_limited"
    status = 429
