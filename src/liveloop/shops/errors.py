"""Stable error codes of the shops domain (tenants, staff, credentials)."""

from __future__ import annotations

from liveloop.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated


class MissingCredentials(Unauthenticated):
    code = "auth.missing_credentials"


class InvalidApiKey(Unauthenticated):
    code = "auth.invalid_api_key"


class InvalidViewerToken(Unauthenticated):
    code = "auth.invalid_viewer_token"


class ViewerKeyMismatch(InvalidViewerToken):
    """The token's signature matches none of the keys it was checked against (same code)."""


class ExpiredViewerToken(Unauthenticated):
    code = "auth.expired_viewer_token"


class PermissionDenied(Forbidden):
    code = "auth.permission_denied"


class StaffNotFound(NotFound):
    code = "shops.staff_not_found"


class ApiKeyNotFound(NotFound):
    code = "shops.api_key_not_found"


class LastOwner(Conflict):
    code = "shops.last_owner"


class NotifyTargetNotFound(NotFound):
    code = "shops.notify_target_not_found"


class InvalidNotifyTarget(InvalidInput):
    code = "shops.invalid_notify_target"


class TooManyNotifyTargets(Conflict):
    code = "shops.too_many_notify_targets"


class NotifyTargetNotPublic(InvalidInput):
    """The target's host is or resolves to a loopback, private, link-local or other non-public
    address (see ``LIVELOOP_NOTIFY_ALLOW_PRIVATE_HOSTS``)."""

    code = "shops.notify_target_not_public"
