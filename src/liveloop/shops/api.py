"""HTTP routes of the shops domain and the staff authentication dependency."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field

from liveloop.core.container import Container, ContainerDep
from liveloop.core.pagination import Page, PageParams, page_of, page_params
from liveloop.core.schemas import ERROR_RESPONSES, OutModel, PatchModel, StrictModel
from liveloop.shops import service
from liveloop.shops.contracts import Principal, Role, Viewer
from liveloop.shops.errors import MissingCredentials
from liveloop.shops.model import ROLE_PERMISSIONS
from liveloop.shops.viewer_keys import ViewerKeyCache

_bearer = HTTPBearer(auto_error=False, description="A staff API key: `Authorization: Bearer llk_...`")


async def current_principal(
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise MissingCredentials("send a staff API key as `Authorization: Bearer <key>`")
    return await service.get_principal(container.db, credentials.credentials.strip())


PrincipalDep = Annotated[Principal, Depends(current_principal)]

_viewer_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ViewerToken",
    description="A viewer token from `POST /api/v1/viewer-tokens`: `Authorization: Bearer <token>`.",
)


async def get_viewer_keys(request: Request) -> ViewerKeyCache:
    """The process's viewer-key cache (``app.state.viewer_keys``), made on first use."""
    container: Container = request.app.state.container
    keys: ViewerKeyCache | None = getattr(request.app.state, "viewer_keys", None)
    if keys is None or keys.db is not container.db:  # none yet, or the app was started again
        keys = request.app.state.viewer_keys = ViewerKeyCache(container.db)
    return keys


ViewerKeysDep = Annotated[ViewerKeyCache, Depends(get_viewer_keys)]


async def current_viewer(
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_viewer_bearer)],
    keys: Annotated[ViewerKeyCache | None, Depends(get_viewer_keys)] = None,
) -> Viewer:
    """The signed-in viewer a token stands for (401 without one: guests have no token).

    As a dependency it verifies with the app's viewer-key cache; called directly without ``keys``,
    it reads the keys from SQL.
    """
    if credentials is None or not credentials.credentials:
        raise MissingCredentials("send a viewer token as `Authorization: Bearer <viewer token>`")
    return await service.get_viewer(container.db, credentials.credentials.strip(), keys=keys)


ViewerDep = Annotated[Viewer, Depends(current_viewer)]
PageDep = Annotated[PageParams, Depends(page_params)]
Id = Annotated[int, Path(ge=1, le=2**53)]
Name = Annotated[str, Field(min_length=1, max_length=100)]

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)


class ShopOut(OutModel):
    id: int
    name: str
    timezone: str
    created_at: datetime


class StaffOut(OutModel):
    id: int
    name: str
    role: Role
    active: bool
    created_at: datetime


class MeOut(OutModel):
    shop: ShopOut
    staff: StaffOut
    permissions: list[str]


class ShopPatch(PatchModel):
    name: Name | None = None
    timezone: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class StaffIn(StrictModel):
    name: Name
    role: Role


class StaffPatch(PatchModel):
    name: Name | None = None
    role: Role | None = None
    active: bool | None = None


class ApiKeyIn(StrictModel):
    label: Annotated[str, Field(max_length=100)] = ""


class ApiKeyOut(OutModel):
    id: int
    staff_id: int
    key_id: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


class IssuedApiKeyOut(ApiKeyOut):
    key: str = Field(description="The full key. Shown once; only its hash is stored.")


class ViewerTokenIn(StrictModel):
    user_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
    nickname: Annotated[str, Field(max_length=40)] = ""
    ttl_seconds: Annotated[int, Field(ge=60, le=86400)] | None = None


class ViewerTokenOut(OutModel):
    token: str
    expires_at: datetime
    viewer_id: str


@router.get("/me", response_model=MeOut, tags=["shops"])
async def read_me(container: ContainerDep, principal: PrincipalDep) -> MeOut:
    shop = await service.get_shop(container.db, principal)
    staff = await service.get_self(container.db, principal)
    perms = sorted(p.value for p in ROLE_PERMISSIONS[principal.role])
    return MeOut(shop=ShopOut.model_validate(shop), staff=StaffOut.model_validate(staff), permissions=perms)


@router.get("/shop", response_model=ShopOut, tags=["shops"])
async def read_shop(container: ContainerDep, principal: PrincipalDep) -> ShopOut:
    return ShopOut.model_validate(await service.get_shop(container.db, principal))


@router.patch("/shop", response_model=ShopOut, tags=["shops"])
async def update_shop(container: ContainerDep, principal: PrincipalDep, body: ShopPatch) -> ShopOut:
    shop = await service.do_update_shop(container.db, principal, name=body.name, timezone=body.timezone)
    return ShopOut.model_validate(shop)


@router.post("/shop/rotate-viewer-key", status_code=status.HTTP_204_NO_CONTENT, tags=["shops"])
async def rotate_viewer_key(container: ContainerDep, principal: PrincipalDep) -> None:
    await service.do_rotate_viewer_key(container.db, principal)


@router.get("/staff", response_model=Page[StaffOut], tags=["shops"])
async def list_staff(container: ContainerDep, principal: PrincipalDep, page: PageDep) -> Page[StaffOut]:
    rows = await service.get_staff_page(container.db, principal, page)
    return page_of(StaffOut, rows, page)


@router.post("/staff", response_model=StaffOut, status_code=status.HTTP_201_CREATED, tags=["shops"])
async def create_staff(container: ContainerDep, principal: PrincipalDep, body: StaffIn) -> StaffOut:
    staff = await service.do_create_staff(container.db, principal, name=body.name, role=body.role)
    return StaffOut.model_validate(staff)


@router.get("/staff/{staff_id}", response_model=StaffOut, tags=["shops"])
async def read_staff(container: ContainerDep, principal: PrincipalDep, staff_id: Id) -> StaffOut:
    return StaffOut.model_validate(await service.get_staff(container.db, principal, staff_id))


@router.patch("/staff/{staff_id}", response_model=StaffOut, tags=["shops"])
async def update_staff(
    container: ContainerDep, principal: PrincipalDep, staff_id: Id, body: StaffPatch
) -> StaffOut:
    staff = await service.do_update_staff(
        container.db, principal, staff_id, name=body.name, role=body.role, active=body.active
    )
    return StaffOut.model_validate(staff)


@router.post(
    "/staff/{staff_id}/api-keys",
    response_model=IssuedApiKeyOut,
    status_code=status.HTTP_201_CREATED,
    tags=["shops"],
)
async def issue_api_key(
    container: ContainerDep, principal: PrincipalDep, staff_id: Id, body: ApiKeyIn
) -> IssuedApiKeyOut:
    issued = await service.do_issue_api_key(container.db, principal, staff_id, label=body.label)
    out = ApiKeyOut.model_validate(issued.row)
    return IssuedApiKeyOut(**out.model_dump(), key=issued.plaintext)


@router.get("/staff/{staff_id}/api-keys", response_model=list[ApiKeyOut], tags=["shops"])
async def list_api_keys(container: ContainerDep, principal: PrincipalDep, staff_id: Id) -> list[ApiKeyOut]:
    rows = await service.get_api_keys(container.db, principal, staff_id)
    return [ApiKeyOut.model_validate(r) for r in rows]


@router.delete("/api-keys/{api_key_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["shops"])
async def revoke_api_key(container: ContainerDep, principal: PrincipalDep, api_key_id: Id) -> None:
    await service.do_revoke_api_key(container.db, principal, api_key_id)


@router.post(
    "/viewer-tokens", response_model=ViewerTokenOut, status_code=status.HTTP_201_CREATED, tags=["shops"]
)
async def issue_viewer_token(
    container: ContainerDep, principal: PrincipalDep, body: ViewerTokenIn
) -> ViewerTokenOut:
    issued = await service.do_issue_viewer_token(
        container.db,
        principal,
        user_id=body.user_id,
        nickname=body.nickname or body.user_id,
        ttl_seconds=body.ttl_seconds or container.settings.viewer_token_ttl_seconds,
    )
    return ViewerTokenOut.model_validate(issued)


@router.post(
    "/socket-tokens", response_model=ViewerTokenOut, status_code=status.HTTP_201_CREATED, tags=["shops"]
)
async def issue_socket_token(container: ContainerDep, principal: PrincipalDep) -> ViewerTokenOut:
    """A short-lived token for the live-room socket (`?token=`) carrying the caller's staff role."""
    return ViewerTokenOut.model_validate(await service.do_issue_staff_socket_token(container.db, principal))
