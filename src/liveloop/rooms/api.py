"""HTTP routes of rooms, shows and line-ups."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import AwareDatetime, Field, HttpUrl

from liveloop.core.container import ContainerDep
from liveloop.core.pagination import Page, page_of
from liveloop.core.schemas import ERROR_RESPONSES, OutModel, PatchModel, StrictModel
from liveloop.rooms import lineup, service
from liveloop.rooms.model import ShowAction, ShowState
from liveloop.shops import PageDep, PrincipalDep

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
Id = Annotated[int, Path(ge=1, le=2**53)]
Title = Annotated[str, Field(min_length=1, max_length=200)]


class RoomIn(StrictModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    description: Annotated[str, Field(max_length=2000)] = ""


class RoomPatch(PatchModel):
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    description: Annotated[str, Field(max_length=2000)] | None = None


class RoomOut(OutModel):
    id: int
    name: str
    description: str
    created_at: datetime


class ShowIn(StrictModel):
    room_id: Annotated[int, Field(ge=1, le=2**53)]
    title: Title
    planned_start: AwareDatetime
    planned_end: AwareDatetime
    playback_url: HttpUrl | None = None


class ShowPatch(PatchModel):
    nullable_fields = frozenset({"playback_url"})

    title: Title | None = None
    planned_start: AwareDatetime | None = None
    planned_end: AwareDatetime | None = None
    playback_url: HttpUrl | None = None


class ShowOut(OutModel):
    id: int
    room_id: int
    title: str
    planned_start: datetime
    planned_end: datetime
    playback_url: str | None
    state: ShowState
    started_at: datetime | None
    ended_at: datetime | None
    created_at: datetime
    explaining_product_id: int | None = Field(description="The product explained now (讲解中), if any.")
    explaining_since: datetime | None


class LineupProductOut(OutModel):
    id: int
    sku: str
    title: str
    price_cents: int
    list_price_cents: int | None
    stock: int
    image_url: str | None


class LineupItemOut(OutModel):
    position: int
    product: LineupProductOut


class LineupOut(OutModel):
    items: list[LineupItemOut]


class LineupIn(StrictModel):
    product_ids: Annotated[list[Annotated[int, Field(ge=1, le=2**53)]], Field(max_length=lineup.MAX_LINEUP)]


class LineupAddIn(StrictModel):
    product_id: Annotated[int, Field(ge=1, le=2**53)]
    position: Annotated[int, Field(ge=0, le=lineup.MAX_LINEUP)] | None = None


def _show_fields(body: ShowIn | ShowPatch, *, exclude_unset: bool) -> dict[str, object]:
    data = body.model_dump(exclude_unset=exclude_unset, exclude={"room_id"})
    if data.get("playback_url") is not None:
        data["playback_url"] = str(data["playback_url"])
    return data


def _lineup(items: list[lineup.LineupItem]) -> LineupOut:
    return LineupOut.model_validate({"items": items})


@router.get("/rooms", response_model=Page[RoomOut], tags=["rooms"])
async def list_rooms(container: ContainerDep, principal: PrincipalDep, page: PageDep) -> Page[RoomOut]:
    rows = await service.get_rooms(container.db, principal, page)
    return page_of(RoomOut, rows, page)


@router.post("/rooms", response_model=RoomOut, status_code=status.HTTP_201_CREATED, tags=["rooms"])
async def create_room(container: ContainerDep, principal: PrincipalDep, body: RoomIn) -> RoomOut:
    row = await service.do_create_room(container.db, principal, name=body.name, description=body.description)
    return RoomOut.model_validate(row)


@router.get("/rooms/{room_id}", response_model=RoomOut, tags=["rooms"])
async def read_room(container: ContainerDep, principal: PrincipalDep, room_id: Id) -> RoomOut:
    return RoomOut.model_validate(await service.get_room(container.db, principal, room_id))


@router.patch("/rooms/{room_id}", response_model=RoomOut, tags=["rooms"])
async def update_room(
    container: ContainerDep, principal: PrincipalDep, room_id: Id, body: RoomPatch
) -> RoomOut:
    row = await service.do_update_room(
        container.db, principal, room_id, **body.model_dump(exclude_unset=True)
    )
    return RoomOut.model_validate(row)


@router.get("/shows", response_model=Page[ShowOut], tags=["shows"])
async def list_shows(
    container: ContainerDep,
    principal: PrincipalDep,
    page: PageDep,
    state: ShowState | None = None,
    room_id: Annotated[int | None, Query(ge=1, le=2**53)] = None,
) -> Page[ShowOut]:
    rows = await service.get_shows(
        container.db, principal, page, service.ShowFilter(state=state, room_id=room_id)
    )
    return page_of(ShowOut, rows, page)


@router.post("/shows", response_model=ShowOut, status_code=status.HTTP_201_CREATED, tags=["shows"])
async def create_show(container: ContainerDep, principal: PrincipalDep, body: ShowIn) -> ShowOut:
    fields = _show_fields(body, exclude_unset=False)
    row = await service.do_create_show(container.db, principal, room_id=body.room_id, **fields)
    return ShowOut.model_validate(row)


@router.get("/shows/{show_id}", response_model=ShowOut, tags=["shows"])
async def read_show(container: ContainerDep, principal: PrincipalDep, show_id: Id) -> ShowOut:
    return ShowOut.model_validate(await service.get_show(container.db, principal, show_id))


@router.patch("/shows/{show_id}", response_model=ShowOut, tags=["shows"])
async def update_show(
    container: ContainerDep, principal: PrincipalDep, show_id: Id, body: ShowPatch
) -> ShowOut:
    row = await service.do_update_show(
        container.db, principal, show_id, **_show_fields(body, exclude_unset=True)
    )
    return ShowOut.model_validate(row)


@router.post("/shows/{show_id}/{action}", response_model=ShowOut, tags=["shows"])
async def transition_show(
    container: ContainerDep, principal: PrincipalDep, show_id: Id, action: ShowAction
) -> ShowOut:
    """Start (scheduled -> live), end (live -> ended) or cancel (scheduled -> cancelled) a show."""
    done = await service.do_transition_show(container.db, principal, show_id, action)
    container.events.emit_many(done.events)
    return ShowOut.model_validate(done.show)


@router.get("/shows/{show_id}/lineup", response_model=LineupOut, tags=["shows"])
async def read_lineup(container: ContainerDep, principal: PrincipalDep, show_id: Id) -> LineupOut:
    return _lineup(await lineup.get_lineup(container.db, principal, show_id))


@router.put("/shows/{show_id}/lineup", response_model=LineupOut, tags=["shows"])
async def replace_lineup(
    container: ContainerDep, principal: PrincipalDep, show_id: Id, body: LineupIn
) -> LineupOut:
    items = await lineup.do_set_lineup(container.db, principal, show_id, product_ids=body.product_ids)
    return _lineup(items)


@router.post("/shows/{show_id}/lineup/items", response_model=LineupOut, tags=["shows"])
async def add_to_lineup(
    container: ContainerDep, principal: PrincipalDep, show_id: Id, body: LineupAddIn
) -> LineupOut:
    items = await lineup.do_add_to_lineup(
        container.db, principal, show_id, product_id=body.product_id, position=body.position
    )
    return _lineup(items)


@router.delete(
    "/shows/{show_id}/lineup/items/{product_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["shows"]
)
async def remove_from_lineup(
    container: ContainerDep, principal: PrincipalDep, show_id: Id, product_id: Id
) -> None:
    await lineup.do_remove_from_lineup(container.db, principal, show_id, product_id=product_id)
