"""Shops: tenants, staff, roles, API keys and viewer identities."""

from liveloop.shops.api import (
    PageDep,
    PrincipalDep,
    ViewerDep,
    ViewerKeysDep,
    current_principal,
    current_viewer,
    get_viewer_keys,
)
from liveloop.shops.contracts import Permission, Principal, Role, Viewer
from liveloop.shops.errors import ExpiredViewerToken, InvalidViewerToken
from liveloop.shops.notify_targets import get_enabled_notify_targets
from liveloop.shops.service import (
    CreatedShop,
    check_permission,
    count_shops,
    do_create_shop,
    get_principal,
    get_shop,
    get_viewer,
    guest_viewer,
)
from liveloop.shops.viewer_keys import ViewerKeyCache

__all__ = [
    "CreatedShop",
    "ExpiredViewerToken",
    "InvalidViewerToken",
    "PageDep",
    "Permission",
    "Principal",
    "PrincipalDep",
    "Role",
    "Viewer",
    "ViewerDep",
    "ViewerKeyCache",
    "ViewerKeysDep",
    "check_permission",
    "count_shops",
    "current_principal",
    "current_viewer",
    "do_create_shop",
    "get_enabled_notify_targets",
    "get_principal",
    "get_shop",
    "get_viewer",
    "get_viewer_keys",
    "guest_viewer",
]
