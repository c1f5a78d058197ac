"""HTTP routes of live alerts: per-room thresholds and the alerts a show fired."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import Field

from liveloop.analytics import alert_settings as service
from liveloop.analytics.alert_model import Rule, Severity, Thresholds
from liveloop.core.container import ContainerDep
from liveloop.core.schemas import ERROR_RESPONSES, OutModel, StrictModel
from liveloop.shops import PrincipalDep

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["alerts"])
Id = Annotated[int, Path(ge=1, le=2**53)]
_DEFAULTS = Thresholds()
Ratio = Annotated[float, Field(gt=0, le=1)]
Count = Annotated[int, Field(ge=1, le=10_000_000)]
WindowMinutes = Annotated[int, Field(ge=1, le=60)]


class AlertSettingsIn(StrictModel):
    """A room's full alert settings: omitted fields take their defaults (METRICS.md)."""

    enabled_rules: Annotated[list[Rule], Field(max_length=len(Rule))] = sorted(_DEFAULTS.enabled_rules)
    ccu_floor: Annotated[int, Field(ge=0, le=10_000_000)] = _DEFAULTS.ccu_floor
    low_ctr_ratio: Ratio = _DEFAULTS.low_ctr_ratio
    min_exposures: Count = _DEFAULTS.min_exposures
    traffic_drop_ratio: Annotated[float, Field(gt=0, lt=1)] = _DEFAULTS.traffic_drop_ratio
    traffic_window_min: WindowMinutes = _DEFAULTS.traffic_window_min
    stall_ratio: Ratio = _DEFAULTS.stall_ratio
    stall_min_clicks: Count = _DEFAULTS.stall_min_clicks
    stall_window_min: WindowMinutes = _DEFAULTS.stall_window_min

    def thresholds(self) -> Thresholds:
        return Thresholds(
            enabled_rules=frozenset(self.enabled_rules),
            ccu_floor=self.ccu_floor,
            low_ctr_ratio=self.low_ctr_ratio,
            min_exposures=self.min_exposures,
            traffic_drop_ratio=self.traffic_drop_ratio,
            traffic_window_min=self.traffic_window_min,
            stall_ratio=self.stall_ratio,
            stall_min_clicks=self.stall_min_clicks,
            stall_window_min=self.stall_window_min,
        )


class AlertSettingsOut(OutModel):
    room_id: int
    enabled_rules: list[Rule]
    ccu_floor: int
    low_ctr_ratio: float
    min_exposures: int
    ctr_window_min: int
    traffic_drop_ratio: float
    traffic_window_min: int
    stall_ratio: float
    stall_min_clicks: int
    stall_window_min: int
    baseline_days: int


class AlertOut(OutModel):
    id: int
    show_id: int
    room_id: int
    rule: Rule
    severity: Severity
    product_id: int | None
    message_zh: str
    message_en: str
    figures: dict[str, int | float | str | None] = Field(
        description="The figures that made the rule fire, with the thresholds they were compared with."
    )
    suggestion_zh: str
    suggestion_en: str
    at: datetime


class AlertsOut(OutModel):
    items: list[AlertOut]


def _settings_out(room_id: int, t: Thresholds) -> AlertSettingsOut:
    return AlertSettingsOut(
        room_id=room_id,
        enabled_rules=sorted(t.enabled_rules),
        ccu_floor=t.ccu_floor,
        low_ctr_ratio=t.low_ctr_ratio,
        min_exposures=t.min_exposures,
        ctr_window_min=t.ctr_window_min,
        traffic_drop_ratio=t.traffic_drop_ratio,
        traffic_window_min=t.traffic_window_min,
        stall_ratio=t.stall_ratio,
        stall_min_clicks=t.stall_min_clicks,
        stall_window_min=t.stall_window_min,
        baseline_days=t.baseline_days,
    )


@router.get("/rooms/{room_id}/alert-settings", response_model=AlertSettingsOut)
async def read_alert_settings(
    container: ContainerDep, principal: PrincipalDep, room_id: Id
) -> AlertSettingsOut:
    return _settings_out(room_id, await service.get_alert_settings(container.db, principal, room_id))


@router.put("/rooms/{room_id}/alert-settings", response_model=AlertSettingsOut)
async def replace_alert_settings(
    container: ContainerDep, principal: PrincipalDep, room_id: Id, body: AlertSettingsIn
) -> AlertSettingsOut:
    stored = await service.do_put_alert_settings(container.db, principal, room_id, body.thresholds())
    return _settings_out(room_id, stored)


@router.get("/shows/{show_id}/alerts", response_model=AlertsOut)
async def list_show_alerts(
    container: ContainerDep,
    principal: PrincipalDep,
    show_id: Id,
    limit: Annotated[int, Query(ge=1, le=service.MAX_ALERTS_LISTED)] = 100,
) -> AlertsOut:
    """The alerts fired for the show, newest first."""
    alerts = await service.get_show_alerts(container.db, principal, show_id, limit=limit)
    return AlertsOut.model_validate({"items": alerts})
