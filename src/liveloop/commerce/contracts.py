"""Frozen values the commerce domain hands to other domains."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProductInfo:
    id: int
    shop_id: int
    sku: str
    title: str
    price_cents: int
    list_price_cents: int | None
    stock: int
    image_url: str | None
    archived: bool
