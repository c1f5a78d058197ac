"""Hand-built metrics snapshots in the contract's schema (GET /api/v1/shows/{id}/metrics), for alert tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def ratio(numerator: float, denominator: float, base: str, *, per_mille: bool = False) -> dict[str, Any]:
    value = None if not denominator else numerator / denominator * (1000 if per_mille else 1)
    return {"value": value, "numerator": numerator, "denominator": denominator, "base": base}


@dataclass
class Product:
    product_id: int
    exposure_uv: int = 0
    click_uv: int = 0
    paid_uv: int = 0
    explained_seconds: float = 0.0

    def row(self, explaining: bool) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "exposure_uv": self.exposure_uv,
            "click_uv": self.click_uv,
            "order_uv": self.paid_uv,
            "paid_uv": self.paid_uv,
            "paid_orders": self.paid_uv,
            "gmv_cents": self.paid_uv * 9900,
            "ctr": ratio(self.click_uv, self.exposure_uv, "exposure_uv"),
            "click_to_paid": ratio(self.paid_uv, self.click_uv, "click_uv"),
            "explaining": explaining,
            "explained_seconds": self.explained_seconds,
            "explained_pv": 0,
            "product_gpm": ratio(0, 0, "pv", per_mille=True),
        }


@dataclass
class Show:
    """A show whose figures tests move by hand; :meth:`snapshot` renders it at ``minute`` (+ seconds)."""

    show_id: int = 1
    started_at: datetime = START
    ccu: int = 0
    minute_ccu: list[int] = field(default_factory=list)  # the last CCU sample of each minute so far
    explaining: int | None = None
    products: dict[int, Product] = field(default_factory=dict)
    click_uv: int = 0
    paid_uv: int = 0
    status: str = "live"

    def product(self, product_id: int) -> Product:
        return self.products.setdefault(product_id, Product(product_id))

    def snapshot(self, at: datetime) -> dict[str, Any]:
        minutes = list(self.minute_ccu)
        current = int((at - self.started_at).total_seconds() // 60)
        while len(minutes) <= current:  # the current minute's last sample is the CCU now
            minutes.append(self.ccu)
        minutes[current] = self.ccu
        totals = {
            "uv": 0,
            "pv": 0,
            "ccu": self.ccu,
            "pcu": max(minutes, default=0),
            "exposure_uv": sum(p.exposure_uv for p in self.products.values()),
            "click_uv": self.click_uv,
            "paid_uv": self.paid_uv,
            "ctr": ratio(self.click_uv, sum(p.exposure_uv for p in self.products.values()), "exposure_uv"),
            "click_to_paid": ratio(self.paid_uv, self.click_uv, "click_uv"),
        }
        return {
            "show_id": self.show_id,
            "status": self.status,
            "as_of": at.isoformat(),
            "started_at": self.started_at.isoformat(),
            "ended_at": None,
            "duration_seconds": (at - self.started_at).total_seconds(),
            "totals": totals,
            "explaining_product_id": self.explaining,
            "products": [p.row(p.product_id == self.explaining) for p in self.products.values()],
            "minutes": [
                {
                    "minute": (self.started_at + timedelta(minutes=i)).isoformat(),
                    "index": i,
                    "ccu": ccu,
                    "max_ccu": ccu,
                    "entries": 0,
                    "leaves": 0,
                    "explaining_product_id": None,
                }
                for i, ccu in enumerate(minutes[: current + 1])
            ],
        }
