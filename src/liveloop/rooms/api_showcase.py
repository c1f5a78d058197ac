"""HTTP routes of the showcase: the product bag, the product being explained (讲解中), viewer signals.

Who may call what:

- ``GET /shows/{id}/showcase``: the shop's viewers (a viewer token), guests (an ``X-Device-Id``
  header, like ``device_id`` on the room socket) and its staff (an API key, ``SHOWS_READ``).
- ``PUT /shows/{id}/explaining``: staff who run shows (``SHOWS_CONTROL``: owner, operator, host).
- ``POST /shows/{id}/showcase/signals``: viewers and guests only (a staff key is no viewer token).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field

from liveloop.core.container import ContainerDep
from liveloop.core.schemas import ERROR_RESPONSES, ErrorBody, OutModel, StrictModel
from liveloop.rooms import showcase
from liveloop.rooms.errors import MissingAudience
from liveloop.rooms.events import Surface
from liveloop.rooms.model import ShowState
from liveloop.rooms.showcase_signals import (
    MAX_QUANTITY,
    MAX_SIGNALS,
    ProductSignal,
    SignalKind,
    do_record_signals,
)
from liveloop.shops import (
    InvalidViewerToken,
    Principal,
    PrincipalDep,
    Viewer,
    current_principal,
    current_viewer,
)

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["showcase"])
Id = Annotated[int, Path(ge=1, le=2**53)]
ProductId = Annotated[int, Field(ge=1, le=2**53)]

DEVICE_HEADER = "X-Device-Id"
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ViewerTokenOrApiKey",
    description="A viewer token (`POST /api/v1/viewer-tokens`) or, where staff may read, a staff API key.",
)
_device = APIKeyHeader(
    name=DEVICE_HEADER,
    auto_error=False,
    scheme_name="GuestDevice",
    description="A guest's device id (1-64 printable characters), as `device_id` on the room socket.",
)
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
Device = Annotated[str | None, Depends(_device)]


async def _viewer_or_guest(
    container: ContainerDep, credentials: Bearer, device_id: Device, show_id: int
) -> Viewer:
    if credentials is not None and credentials.credentials:
        return await current_viewer(container, credentials)
    if device_id:
        return await showcase.get_guest(container.db, show_id, device_id)
    raise MissingAudience(f"send a viewer token as `Authorization: Bearer <token>` or a `{DEVICE_HEADER}`")


async def showcase_reader(
    container: ContainerDep, credentials: Bearer, device_id: Device, show_id: Id
) -> Principal | Viewer:
    """A viewer (token), a guest (device id) or a staff member (API key)."""
    if credentials is not None and credentials.credentials:
        try:
            return await current_viewer(container, credentials)
        except InvalidViewerToken:
            return await current_principal(container, credentials)  # not a viewer token: a staff key?
    return await _viewer_or_guest(container, credentials, device_id, show_id)


async def signals_viewer(
    container: ContainerDep, credentials: Bearer, device_id: Device, show_id: Id
) -> Viewer:
    """A viewer (token) or a guest (device id); a staff key is refused as an invalid viewer token."""
    return await _viewer_or_guest(container, credentials, device_id, show_id)


ReaderDep = Annotated[Principal | Viewer, Depends(showcase_reader)]
SignalsViewerDep = Annotated[Viewer, Depends(signals_viewer)]


class ShowcaseItemOut(OutModel):
    position: int
    product_id: int
    name: str
    price_cents: int = Field(description="Integer cents.")
    list_price_cents: int | None = Field(description="The crossed-out price, if any.")
    image_url: str | None
    explaining: bool = Field(description="True for the product the host is explaining now (讲解中).")


class ShowcaseOut(OutModel):
    show_id: int
    room_id: int
    state: ShowState
    explaining_product_id: int | None
    explaining_since: datetime | None
    items: list[ShowcaseItemOut] = Field(description="The line-up in order (archived products left out).")


class ExplainingIn(StrictModel):
    product_id: ProductId | None = Field(description="A product of the show's line-up, or null to stop.")


class ExplainingOut(OutModel):
    show_id: int
    product_id: int | None
    previous_product_id: int | None
    changed: bool = Field(description="False when the product was already the one explained.")
    since: datetime | None


class ExplainSegmentOut(OutModel):
    product_id: int
    started_at: datetime
    ended_at: datetime | None = Field(description="null while the product is still explained.")


class SignalIn(StrictModel):
    kind: SignalKind
    product_id: ProductId
    surface: Surface
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)] = Field(
        default=1, description="Units added (add_to_cart); ignored for other kinds."
    )


class SignalsIn(StrictModel):
    signals: Annotated[list[SignalIn], Field(min_length=1, max_length=MAX_SIGNALS)]


class SignalsOut(OutModel):
    accepted: int = Field(description="Signals checked and taken.")
    recorded: int = Field(description="Events they made (a product already seen makes no exposure).")


_RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorBody, "description": "Too many signals: retry after `details.retry_after_seconds`"}
}


@router.get("/shows/{show_id}/showcase", response_model=ShowcaseOut)
async def read_showcase(container: ContainerDep, reader: ReaderDep, show_id: Id) -> ShowcaseOut:
    """The product bag: the show's line-up in order and the product explained now (讲解中)."""
    return ShowcaseOut.model_validate(await showcase.get_showcase(container.db, reader, show_id))


@router.put("/shows/{show_id}/explaining", response_model=ExplainingOut)
async def set_explaining(
    container: ContainerDep, principal: PrincipalDep, show_id: Id, body: ExplainingIn
) -> ExplainingOut:
    """Pin a product of the live show's line-up as 讲解中 (or stop with null); the room sees it at once."""
    change = await showcase.do_set_explaining(container.db, principal, show_id, product_id=body.product_id)
    if change.changed:
        container.events.emit(showcase.explaining_event(change, actor=f"staff:{principal.staff_id}"))
    return ExplainingOut(
        show_id=change.show_id,
        product_id=change.product_id,
        previous_product_id=change.previous_product_id,
        changed=change.changed,
        since=change.since,
    )


@router.get("/shows/{show_id}/explain-segments", response_model=list[ExplainSegmentOut])
async def list_explain_segments(
    container: ContainerDep, principal: PrincipalDep, show_id: Id
) -> list[ExplainSegmentOut]:
    """Which product was explained when, oldest first (the review's product GPM is computed from them)."""
    segments = await showcase.get_explain_segments(container.db, principal, show_id)
    return [ExplainSegmentOut.model_validate(s) for s in segments]


@router.post("/shows/{show_id}/showcase/signals", response_model=SignalsOut, responses=_RATE_LIMITED)
async def record_signals(
    container: ContainerDep, viewer: SignalsViewerDep, show_id: Id, body: SignalsIn
) -> SignalsOut:
    """Report products seen (exposure), tapped (click) or added to the cart, up to 50 at once.

    A product seen again by the same viewer in the same show makes no new exposure. One product
    outside the show's line-up refuses the whole batch (`showcase.not_in_lineup`).
    """
    signals = [ProductSignal(s.kind, s.product_id, s.surface, s.quantity) for s in body.signals]
    events = await do_record_signals(container.db, container.counters, viewer, show_id, signals)
    container.events.emit_many(events)
    return SignalsOut(accepted=len(signals), recorded=len(events))
