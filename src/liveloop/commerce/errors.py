"""Stable error codes of the commerce domain."""

from __future__ import annotations

from liveloop.core.errors import Conflict, InvalidInput, NotFound


class ProductNotFound(NotFound):
    code = "commerce.product_not_found"


class SkuTaken(Conflict):
    code = "commerce.sku_taken"


class InvalidPrice(InvalidInput):
    code = "commerce.invalid_price"
