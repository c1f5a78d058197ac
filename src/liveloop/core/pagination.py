"""Keyset pagination: ``?limit=&cursor=`` in, ``{"items": [...], "next_cursor": ...}`` out."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from liveloop.core.errors import InvalidInput

MAX_LIMIT = 200
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class PageParams(BaseModel):
    limit: int
    after_id: int


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        if prefix != "id":
            raise ValueError(raw)
        after = int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("cursor is not one this API returned") from None
    if after < 0:
        raise InvalidInput("cursor is not one this API returned")
    return after


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=64, description="`next_cursor` of the previous page.")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, after_id=decode_cursor(cursor))


def next_cursor(ids: list[int], limit: int) -> str | None:
    """The cursor for the following page, given the ids of ``limit + 1`` fetched rows."""
    return encode_cursor(ids[limit - 1]) if len(ids) > limit else None


def page_of(model: type[M], rows: Sequence[Any], page: PageParams) -> Page[M]:
    """Serialise ``limit + 1`` fetched rows (each with an ``id``) into a page of ``model``."""
    return paged(rows, page, model.model_validate)


def paged(
    rows: Sequence[Any],
    page: PageParams,
    out: Callable[[Any], M],
    *,
    id_of: Callable[[Any], int] = lambda row: int(row.id),
) -> Page[M]:
    """A page of ``out(row)`` for ``limit + 1`` fetched rows; ``id_of`` gives each row's cursor id."""
    return Page(
        items=[out(row) for row in rows[: page.limit]],
        next_cursor=next_cursor([id_of(row) for row in rows], page.limit),
    )
