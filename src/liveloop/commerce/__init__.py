"""Commerce: the catalog now; live stock, orders, flash sales and coupons as they land."""

from liveloop.commerce.contracts import ProductInfo
from liveloop.commerce.errors import ProductNotFound
from liveloop.commerce.service import get_product_infos

__all__ = ["ProductInfo", "ProductNotFound", "get_product_infos"]
