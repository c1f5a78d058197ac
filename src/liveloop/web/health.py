"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel

from liveloop import __version__
from liveloop.core.container import ContainerDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    version: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up and serving."""
    return Health(status="ok", version=__version__)


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(container: ContainerDep) -> JSONResponse:
    """Ready only when the database and (if configured) Redis answer within 2 s."""
    results: dict[str, str] = {}
    for check in container.checks:
        try:
            await asyncio.wait_for(check.probe(), timeout=2)
            results[check.name] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            results[check.name] = f"failed: {type(exc).__name__}"
    ready = all(v == "ok" for v in results.values())
    body = Readiness(status="ready" if ready else "unavailable", checks=results)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response, include_in_schema=False)
async def metrics(request: Request) -> Response:
    registry: CollectorRegistry = request.app.state.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
