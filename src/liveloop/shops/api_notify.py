"""HTTP routes of a shop's notify targets (WeCom group robots, webhooks) and their test message.

Managing targets is ``ALERTS_MANAGE`` (owner, operator). A URL on a loopback, private or link-local
host is refused (422 ``shops.notify_target_not_public``) unless ``LIVELOOP_NOTIFY_ALLOW_PRIVATE_HOSTS``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import Field

from liveloop.core.container import ContainerDep
from liveloop.core.notify import DeliveryStatus, NotifierDep, NotifyKind
from liveloop.core.schemas import ERROR_RESPONSES, OutModel, StrictModel
from liveloop.shops import notify_targets as service
from liveloop.shops.api import PrincipalDep

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["notify"])
Id = Annotated[int, Path(ge=1, le=2**53)]


class NotifyTargetIn(StrictModel):
    kind: NotifyKind
    url: Annotated[
        str,
        Field(
            min_length=1,
            max_length=1000,
            description=f"http(s) URL; a WeCom group robot's is `{service.WECOM_ROBOT_URL}?key=<robot key>`.",
        ),
    ]
    secret: Annotated[
        str | None,
        Field(
            min_length=8,
            max_length=200,
            description="Webhooks only: signs each body, `X-Liveloop-Signature: sha256=<hex HMAC-SHA256>`.",
        ),
    ] = None
    enabled: bool = True


class NotifyTargetPatch(StrictModel):
    """What to change; a field left out (or, but for `secret`, null) stays as it is."""

    url: (
        Annotated[
            str,
            Field(min_length=1, max_length=1000, description="A new URL, checked as on create (same kind)."),
        ]
        | None
    ) = None
    secret: Annotated[
        str | None,
        Field(
            min_length=8, max_length=200, description="Webhooks only: a new secret, or null to stop signing."
        ),
    ] = None
    enabled: bool | None = None


class NotifyTargetOut(OutModel):
    id: int
    kind: NotifyKind
    url_masked: str = Field(description="The URL with its query values hidden (a robot's key is a secret).")
    has_secret: bool
    enabled: bool
    created_at: datetime


class TestDeliveryOut(OutModel):
    delivered: bool
    status: DeliveryStatus
    attempts: int
    code: int | None = Field(description="The channel's last answer: HTTP status, or WeCom's errcode.")
    error: str | None


@router.get("/notify-targets", response_model=list[NotifyTargetOut])
async def list_notify_targets(container: ContainerDep, principal: PrincipalDep) -> list[NotifyTargetOut]:
    views = await service.get_notify_targets(container.db, principal)
    return [NotifyTargetOut.model_validate(v) for v in views]


@router.post("/notify-targets", response_model=NotifyTargetOut, status_code=status.HTTP_201_CREATED)
async def create_notify_target(
    container: ContainerDep, principal: PrincipalDep, body: NotifyTargetIn
) -> NotifyTargetOut:
    view = await service.do_create_notify_target(
        container.db,
        principal,
        kind=body.kind,
        url=body.url,
        secret=body.secret,
        enabled=body.enabled,
        allow_private_hosts=container.settings.notify_allow_private_hosts,
    )
    return NotifyTargetOut.model_validate(view)


@router.patch("/notify-targets/{target_id}", response_model=NotifyTargetOut)
async def update_notify_target(
    container: ContainerDep, principal: PrincipalDep, target_id: Id, body: NotifyTargetPatch
) -> NotifyTargetOut:
    """Change a target's URL, secret (null removes it) or enabled flag, with the rules of create."""
    view = await service.do_update_notify_target(
        container.db,
        principal,
        target_id,
        url=body.url,
        secret=body.secret if "secret" in body.model_fields_set else service.KEEP,
        enabled=body.enabled,
        allow_private_hosts=container.settings.notify_allow_private_hosts,
    )
    return NotifyTargetOut.model_validate(view)


@router.delete("/notify-targets/{target_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_notify_target(container: ContainerDep, principal: PrincipalDep, target_id: Id) -> None:
    await service.do_delete_notify_target(container.db, principal, target_id)


@router.post("/notify-targets/{target_id}/test", response_model=TestDeliveryOut)
async def send_test_notification(
    container: ContainerDep, notifier: NotifierDep, principal: PrincipalDep, target_id: Id
) -> TestDeliveryOut:
    """Send one test message now (a single try) and answer with what the channel said."""
    delivery = await service.do_send_test_notification(container.db, notifier, principal, target_id)
    return TestDeliveryOut(
        delivered=delivery.delivered,
        status=delivery.status,
        attempts=delivery.attempts,
        code=delivery.code,
        error=delivery.error,
    )
