"""HTTP routes of co-hosting (连麦): viewers' seat requests, staff decisions, RTC tokens and settings.

Viewer routes (``/viewer/...``) take a viewer token (``Authorization: Bearer <viewer token>``); staff
routes take a staff API key like every other route.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status
from pydantic import Field

from liveloop.core.container import ContainerDep
from liveloop.core.pagination import Page, page_of
from liveloop.core.rtc import RtcConfig, RtcIssuerFactory, RtcProvider, RtcToken, RtcTokenIssuer
from liveloop.core.schemas import ERROR_RESPONSES, OutModel, PatchModel, StrictModel
from liveloop.rooms import cohost, rtc
from liveloop.rooms.cohost import SeatAction, SeatState
from liveloop.rooms.storage import RtcConfigRow, SeatRequestRow
from liveloop.shops import PageDep, PrincipalDep, ViewerDep

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["cohost"])
Id = Annotated[int, Path(ge=1, le=2**53)]
_NO_STORE = {"Cache-Control": "no-store"}


def rtc_issuers(request: Request) -> RtcIssuerFactory:
    """The issuer factory ``bootstrap`` chose (``app.state.rtc_factory``), looked up when first needed."""

    def build(config: RtcConfig) -> RtcTokenIssuer:
        factory: RtcIssuerFactory | None = getattr(request.app.state, "rtc_factory", None)
        if factory is None:
            raise RuntimeError("no RTC issuer factory: set app.state.rtc_factory at startup")
        return factory(config)

    return build


RtcIssuersDep = Annotated[RtcIssuerFactory, Depends(rtc_issuers)]


class SeatRequestOut(OutModel):
    id: int
    room_id: int
    show_id: int | None = Field(description="The show that was live when the viewer asked, if any.")
    viewer_id: str
    nickname: str
    state: SeatState
    created_at: datetime
    approved_at: datetime | None
    closed_at: datetime | None


class RtcTokenOut(OutModel):
    provider: RtcProvider
    token: str
    url: str | None = Field(description="LiveKit: the server to connect to. Agora: null.")
    app_id: str | None = Field(
        description="Agora: the App ID (public; never the certificate) to join with. LiveKit: null."
    )
    room: str = Field(description="The LiveKit room or Agora channel name.")
    identity: str = Field(
        description="The LiveKit identity, or the Agora user account the token was built for: pass it"
        " as the string uid of Agora's client.join(app_id, room, token, uid)."
    )
    can_publish: bool
    expires_at: datetime


class CohostOut(OutModel):
    room_id: int
    max_seats: int
    seated: int


class CohostPatch(PatchModel):
    max_seats: Annotated[int, Field(ge=cohost.MIN_SEATS, le=cohost.MAX_SEATS)] | None = None


_Printable = Field(pattern=r"^[\x21-\x7e]+$")
_Hex32 = Field(pattern=r"^[0-9a-fA-F]{32}$")


class RtcConfigIn(StrictModel):
    """The shop's RTC provider. Secrets are write-only: omit one to keep the stored value."""

    provider: RtcProvider | None = Field(description="null turns co-host RTC off and forgets the settings.")
    livekit_url: Annotated[str, Field(max_length=500, pattern=r"^(wss?|https?)://[\x21-\x7e]+$")] | None = (
        None
    )
    livekit_api_key: Annotated[str, _Printable, Field(max_length=200)] | None = None
    livekit_api_secret: Annotated[str, _Printable, Field(min_length=32, max_length=200)] | None = None
    agora_app_id: Annotated[str, _Hex32] | None = None
    agora_app_certificate: Annotated[str, _Hex32] | None = None


class SecretOut(OutModel):
    is_set: bool
    last4: str | None = Field(description="The secret's last four characters, to tell secrets apart.")


class RtcConfigOut(OutModel):
    provider: RtcProvider | None
    livekit_url: str | None
    livekit_api_key: str | None
    livekit_api_secret: SecretOut
    agora_app_id: str | None
    agora_app_certificate: SecretOut
    updated_at: datetime | None


def _secret(value: str | None) -> SecretOut:
    return SecretOut(is_set=bool(value), last4=value[-4:] if value else None)


def _rtc_config(row: RtcConfigRow | None) -> RtcConfigOut:
    return RtcConfigOut(
        provider=RtcProvider(row.provider) if row else None,
        livekit_url=row.livekit_url if row else None,
        livekit_api_key=row.livekit_api_key if row else None,
        livekit_api_secret=_secret(row.livekit_api_secret if row else None),
        agora_app_id=row.agora_app_id if row else None,
        agora_app_certificate=_secret(row.agora_app_certificate if row else None),
        updated_at=row.updated_at if row else None,
    )


def _token(token: RtcToken, response: Response) -> RtcTokenOut:
    response.headers.update(_NO_STORE)
    return RtcTokenOut.model_validate(token)


def _seat(row: SeatRequestRow) -> SeatRequestOut:
    return SeatRequestOut.model_validate(row)


# -- viewers ---------------------------------------------------------------------------------------


@router.post(
    "/viewer/rooms/{room_id}/seat-requests",
    response_model=SeatRequestOut,
    status_code=status.HTTP_201_CREATED,
)
async def request_seat(container: ContainerDep, viewer: ViewerDep, room_id: Id) -> SeatRequestOut:
    """Ask for a co-host seat (one open request per viewer and room); staff approve or reject it."""
    row = await cohost.do_request_seat(container.db, viewer, room_id)
    container.events.emit(cohost.seat_event(row, actor=viewer.viewer_id))
    return _seat(row)


@router.get("/viewer/rooms/{room_id}/seat-requests/mine", response_model=SeatRequestOut)
async def read_my_seat_request(container: ContainerDep, viewer: ViewerDep, room_id: Id) -> SeatRequestOut:
    """The viewer's latest seat request in the room, whatever its state (poll it to learn the decision)."""
    return _seat(await cohost.get_my_seat_request(container.db, viewer, room_id))


@router.delete("/viewer/rooms/{room_id}/seat-requests/mine", response_model=SeatRequestOut)
async def leave_seat(container: ContainerDep, viewer: ViewerDep, room_id: Id) -> SeatRequestOut:
    """Withdraw a pending request (-> cancelled) or leave the seat (-> ended)."""
    row = await cohost.do_leave_seat(container.db, viewer, room_id)
    container.events.emit(cohost.seat_event(row, actor=viewer.viewer_id))
    return _seat(row)


@router.get("/viewer/rooms/{room_id}/rtc-token", response_model=RtcTokenOut)
async def viewer_rtc_token(
    container: ContainerDep, viewer: ViewerDep, issuers: RtcIssuersDep, room_id: Id, response: Response
) -> RtcTokenOut:
    """An RTC token for the room: publish rights while seated, subscribe-only otherwise."""
    token = await cohost.get_viewer_rtc_token(container.db, viewer, room_id, issuers=issuers)
    return _token(token, response)


# -- staff -----------------------------------------------------------------------------------------


@router.get("/rooms/{room_id}/seat-requests", response_model=Page[SeatRequestOut])
async def list_seat_requests(
    container: ContainerDep,
    principal: PrincipalDep,
    page: PageDep,
    room_id: Id,
    state: SeatState | None = None,
) -> Page[SeatRequestOut]:
    rows = await cohost.get_seat_requests(
        container.db, principal, room_id, page, cohost.SeatFilter(state=state)
    )
    return page_of(SeatRequestOut, rows, page)


async def _decide(
    container: ContainerDep, principal: PrincipalDep, room_id: int, request_id: int, action: SeatAction
) -> SeatRequestOut:
    row = await cohost.do_decide_seat(container.db, principal, room_id, request_id, action)
    container.events.emit(cohost.seat_event(row, actor=f"staff:{principal.staff_id}"))
    return _seat(row)


@router.post("/rooms/{room_id}/seat-requests/{request_id}/approve", response_model=SeatRequestOut)
async def approve_seat(
    container: ContainerDep, principal: PrincipalDep, room_id: Id, request_id: Id
) -> SeatRequestOut:
    """Seat the viewer (requested -> approved); `rooms.seats_full` when every seat is taken."""
    return await _decide(container, principal, room_id, request_id, SeatAction.APPROVE)


@router.post("/rooms/{room_id}/seat-requests/{request_id}/reject", response_model=SeatRequestOut)
async def reject_seat(
    container: ContainerDep, principal: PrincipalDep, room_id: Id, request_id: Id
) -> SeatRequestOut:
    return await _decide(container, principal, room_id, request_id, SeatAction.REJECT)


@router.post("/rooms/{room_id}/seat-requests/{request_id}/end", response_model=SeatRequestOut)
async def end_seat(
    container: ContainerDep, principal: PrincipalDep, room_id: Id, request_id: Id
) -> SeatRequestOut:
    """Take a seated guest off the seat (approved -> ended)."""
    return await _decide(container, principal, room_id, request_id, SeatAction.END)


@router.get("/rooms/{room_id}/rtc-token", response_model=RtcTokenOut)
async def staff_rtc_token(
    container: ContainerDep, principal: PrincipalDep, issuers: RtcIssuersDep, room_id: Id, response: Response
) -> RtcTokenOut:
    """Owner, operator and host join as the host (publish); moderators watch (subscribe-only)."""
    token = await cohost.get_staff_rtc_token(container.db, principal, room_id, issuers=issuers)
    return _token(token, response)


@router.get("/rooms/{room_id}/cohost", response_model=CohostOut)
async def read_cohost(container: ContainerDep, principal: PrincipalDep, room_id: Id) -> CohostOut:
    return CohostOut.model_validate(await cohost.get_cohost_settings(container.db, principal, room_id))


@router.patch("/rooms/{room_id}/cohost", response_model=CohostOut)
async def update_cohost(
    container: ContainerDep, principal: PrincipalDep, room_id: Id, body: CohostPatch
) -> CohostOut:
    """Set how many guests may be seated at once (1-8); seated guests keep their seats."""
    settings = await cohost.do_update_cohost_settings(
        container.db, principal, room_id, max_seats=body.max_seats
    )
    return CohostOut.model_validate(settings)


@router.get("/rtc-config", response_model=RtcConfigOut)
async def read_rtc_config(
    container: ContainerDep, principal: PrincipalDep, response: Response
) -> RtcConfigOut:
    """The shop's RTC provider; secrets show only whether they are set and their last four characters."""
    response.headers.update(_NO_STORE)
    return _rtc_config(await rtc.get_rtc_config(container.db, principal))


@router.put("/rtc-config", response_model=RtcConfigOut)
async def replace_rtc_config(
    container: ContainerDep, principal: PrincipalDep, body: RtcConfigIn, response: Response
) -> RtcConfigOut:
    """Set the shop's RTC provider: LiveKit (url, API key and secret) or Agora (App ID, certificate)."""
    change = rtc.RtcConfigChange(**body.model_dump())
    response.headers.update(_NO_STORE)
    return _rtc_config(await rtc.do_set_rtc_config(container.db, principal, change))
